import "../harness/mocks";
import * as k8s from "@pulumi/kubernetes";
import * as assert from "node:assert/strict";
import { BuildPipeline } from "../../components/app/buildPipeline";
import { TektonInstall } from "../../components/cluster/tektonInstall";
import { ValidatedConfig } from "../../config/schema";
import { buildContext } from "../../tekton/build/context";
import {
  RegisteredResource,
  registered,
  resetRegistrations,
  resolve,
  settle,
} from "../harness/mocks";
import { multiAppStack } from "./helpers";

const TASK = "kubernetes:tekton.dev/v1:Task";
const PIPELINE = "kubernetes:tekton.dev/v1:Pipeline";
const COMPONENT = "tekton-gitlab:app:BuildPipeline";

/** What index.ts does for the pipelines: Tekton first, then per app a namespace and its pipeline. */
async function construct(config: ValidatedConfig) {
  resetRegistrations();
  const tekton = new TektonInstall("tekton", {
    tekton: config.tekton,
    kubectlImage: config.images.kubectl,
    registry: config.registry,
  });
  const context = buildContext(config);
  const pipelines = config.apps.map((app) => {
    const namespace = new k8s.core.v1.Namespace(`${app.name}-namespace`, {
      metadata: { name: app.namespace },
    });
    return new BuildPipeline(
      app.name,
      { app, context },
      { dependsOn: [namespace, ...tekton.ready] },
    );
  });
  await settle();
  return { pipelines, resources: [...registered] };
}

const byUrn = (resources: RegisteredResource[], urn: string) =>
  resources.find((r) => r.urn === urn);

describe("BuildPipeline component", function () {
  this.timeout(20000);
  const config = multiAppStack();

  it("registers one Task/Pipeline set per app, in the app's namespace, under its component", async () => {
    const { resources } = await construct(config);
    for (const app of config.apps) {
      const component = resources.find((r) => r.type === COMPONENT && r.name === app.name);
      assert.ok(component, `no component for ${app.name}`);
      // Registration order is async; compare by name.
      const children = resources
        .filter((r) => r.parent === component.urn)
        .sort((a, b) => a.name.localeCompare(b.name));
      assert.deepEqual(
        children.map((r) => [r.type, r.name, r.inputs.metadata.name, r.inputs.metadata.namespace]),
        [
          [PIPELINE, `${app.name}-pipeline-build-${app.name}`, `build-${app.name}`, app.namespace],
          [TASK, `${app.name}-task-build-and-push`, "build-and-push", app.namespace],
          [TASK, `${app.name}-task-cancel-superseded`, "cancel-superseded", app.namespace],
          [TASK, `${app.name}-task-generate-image-tag`, "generate-image-tag", app.namespace],
          [TASK, `${app.name}-task-patch-deployment`, "patch-deployment", app.namespace],
          [TASK, `${app.name}-task-report-build-status`, "report-build-status", app.namespace],
        ],
      );
      for (const child of children) {
        assert.equal(child.inputs.apiVersion, "tekton.dev/v1");
        assert.ok(child.inputs.spec, `${child.name} has a spec`);
      }
    }
    // tag, build, patch, and by default report-build-status and cancel-superseded.
    assert.equal(resources.filter((r) => r.type === TASK).length, 5 * config.apps.length);
    assert.equal(resources.filter((r) => r.type === PIPELINE).length, config.apps.length);
  });

  it("makes every Tekton object wait for the Tekton install and the app's namespace", async () => {
    const { resources } = await construct(config);
    // Pipelines, Triggers, interceptors; not the Pruner, which no Tekton object needs.
    const install = resources
      .filter((r) => r.type === "kubernetes:yaml/v2:ConfigFile" && r.name !== "tekton-pruner")
      .map((r) => r.urn);
    assert.equal(install.length, 3);
    for (const object of resources.filter((r) => r.type === TASK || r.type === PIPELINE)) {
      for (const urn of install) assert.ok(object.dependencies.includes(urn), object.name);
      const namespace = object.dependencies
        .map((urn) => byUrn(resources, urn))
        .find((r) => r?.type === "kubernetes:core/v1:Namespace");
      assert.equal(namespace?.inputs.metadata.name, object.inputs.metadata.namespace, object.name);
    }
  });

  it("exposes the Pipeline's name", async () => {
    const { pipelines } = await construct(config);
    assert.deepEqual(
      pipelines.map((p) => p.pipelineName),
      ["build-orders", "build-billing", "build-search"],
    );
    const component = registered.find((r) => r.type === COMPONENT && r.name === "orders");
    assert.ok(component);
    assert.equal(await resolve(pipelines[0].urn), component.urn);
  });

  it("registers identical inputs when constructed again from the same config", async () => {
    const snapshot = (resources: RegisteredResource[]) =>
      resources
        .filter((r) => r.type === TASK || r.type === PIPELINE)
        .map((r) => ({ name: r.name, inputs: r.inputs, parent: r.parent }))
        .sort((a, b) => a.name.localeCompare(b.name));
    const first = snapshot((await construct(config)).resources);
    const second = snapshot((await construct(multiAppStack())).resources);
    assert.equal(first.length, 18); // 3 apps: 5 Tasks and a Pipeline each
    assert.deepEqual(second, first);
  });
});
