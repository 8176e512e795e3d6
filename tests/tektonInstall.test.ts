import "./harness/mocks";
import * as assert from "node:assert/strict";
import { retainCustomResourceDefinitions } from "../components/tektonInstall";
import {
  exampleConfig,
  findResource,
  resourcesOfType,
  runProgram,
  withStructured,
} from "./harness/program";

const CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile";
const BASE = "https://infra.tekton.dev/tekton-releases";

describe("Tekton install", function () {
  it("applies the three pinned release manifests from infra.tekton.dev", async () => {
    const run = await runProgram(exampleConfig());
    assert.ifError(run.error);
    const files = resourcesOfType(run, CONFIG_FILE).map((r) => [r.name, r.inputs.file]);
    assert.deepEqual(files, [
      ["tekton-pipelines", `${BASE}/pipeline/previous/v1.15.0/release.yaml`],
      ["tekton-triggers", `${BASE}/triggers/previous/v0.37.0/release.yaml`],
      ["tekton-interceptors", `${BASE}/triggers/previous/v0.37.0/interceptors.yaml`],
    ]);
  });

  it("orders Triggers after Pipelines and the interceptors after Triggers", async () => {
    const run = await runProgram(exampleConfig());
    const pipelines = findResource(run, CONFIG_FILE, "tekton-pipelines");
    const triggers = findResource(run, CONFIG_FILE, "tekton-triggers");
    const interceptors = findResource(run, CONFIG_FILE, "tekton-interceptors");
    assert.deepEqual(pipelines.dependencies, []);
    assert.deepEqual(triggers.dependencies, [pipelines.urn]);
    assert.deepEqual(interceptors.dependencies, [triggers.urn]);
    const install = findResource(run, "tekton-gitlab:tekton:TektonInstall", "tekton");
    for (const file of [pipelines, triggers, interceptors]) assert.equal(file.parent, install.urn);
  });

  it("uses the configured versions and a mirror or local directory", async () => {
    const config = withStructured(exampleConfig(), "tekton", () => ({
      pipelinesVersion: "v1.14.2",
      triggersVersion: "v0.36.1",
      releaseBaseUrl: "./manifests/",
    }));
    const run = await runProgram(config);
    assert.ifError(run.error);
    assert.deepEqual(
      resourcesOfType(run, CONFIG_FILE).map((r) => r.inputs.file),
      [
        "./manifests/pipeline/previous/v1.14.2/release.yaml",
        "./manifests/triggers/previous/v0.36.1/release.yaml",
        "./manifests/triggers/previous/v0.36.1/interceptors.yaml",
      ],
    );
    assert.deepEqual(run.values?.tekton, { pipelines: "v1.14.2", triggers: "v0.36.1" });
  });

  it("installs nothing with install: false and exports tekton as null", async () => {
    const config = withStructured(exampleConfig(), "tekton", (t) => ({ ...t, install: false }));
    const run = await runProgram(config);
    assert.ifError(run.error);
    assert.deepEqual(resourcesOfType(run, CONFIG_FILE), []);
    assert.equal(run.values?.tekton, null);
    // The apps are still built on the cluster's own Tekton, waiting only for their namespace.
    const namespace = findResource(run, "kubernetes:core/v1:Namespace", "hello-python-namespace");
    const tasks = resourcesOfType(run, "kubernetes:tekton.dev/v1:Task");
    assert.equal(tasks.length, 3);
    for (const task of [...tasks, ...resourcesOfType(run, "kubernetes:tekton.dev/v1:Pipeline")]) {
      assert.ok(task.dependencies.includes(namespace.urn), task.name);
    }
    assert.equal(run.values?.apps["hello-python"].pipeline, "build-hello-python");
  });

  describe("uninstall safety", () => {
    it("registers every release ConfigFile with the CRD-retaining transform", async () => {
      const run = await runProgram(exampleConfig());
      assert.ifError(run.error);
      const files = resourcesOfType(run, CONFIG_FILE);
      assert.equal(files.length, 3);
      for (const file of files) assert.equal(file.transforms, 1, file.name);
    });

    it("keeps CustomResourceDefinitions on delete and leaves other objects alone", async () => {
      const crd = await retainCustomResourceDefinitions({
        custom: true,
        type: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
        name: "tasks.tekton.dev",
        props: { metadata: { name: "tasks.tekton.dev" } },
        opts: { parent: undefined, protect: false },
      });
      assert.equal(crd?.opts.retainOnDelete, true);
      assert.deepEqual(crd?.props, { metadata: { name: "tasks.tekton.dev" } });
      assert.equal(crd?.opts.protect, false);
      for (const type of [
        "kubernetes:apps/v1:Deployment",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "kubernetes:core/v1:Namespace",
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration",
      ]) {
        const other = await retainCustomResourceDefinitions({
          custom: true,
          type,
          name: "x",
          props: {},
          opts: {},
        });
        assert.equal(other, undefined, type);
      }
    });
  });
});
