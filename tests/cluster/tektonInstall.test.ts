import "../harness/mocks";
import * as assert from "node:assert/strict";
import { retainCustomResourceDefinitions } from "../../components/cluster/retainCrds";
import { READINESS_GATE_NAME, readinessGateManifests } from "../../tekton/cluster/readinessGate";
import { exampleConfig, runProgram, withStructured } from "../harness/program";
import {
  CONFIG_FILE,
  JOB,
  TEKTON_RELEASES,
  findResource,
  resourcesOfType,
} from "../harness/registered";

const TEKTON_KINDS = /^kubernetes:(tekton\.dev|triggers\.tekton\.dev)\/[^:]+:/;

describe("Tekton install", function () {
  it("applies the pinned release manifests from infra.tekton.dev, the Pruner's included", async () => {
    const run = await runProgram(exampleConfig());
    assert.ifError(run.error);
    const files = resourcesOfType(run, CONFIG_FILE).map((r) => [r.name, r.inputs.file]);
    assert.deepEqual(files.sort(), [
      ["tekton-interceptors", `${TEKTON_RELEASES}/triggers/previous/v0.37.0/interceptors.yaml`],
      ["tekton-pipelines", `${TEKTON_RELEASES}/pipeline/previous/v1.15.0/release.yaml`],
      ["tekton-pruner", `${TEKTON_RELEASES}/pruner/previous/v0.4.1/release.yaml`],
      ["tekton-triggers", `${TEKTON_RELEASES}/triggers/previous/v0.37.0/release.yaml`],
    ]);
  });

  it("orders Triggers after Pipelines and the interceptors after Triggers", async () => {
    const run = await runProgram(exampleConfig());
    const pipelines = findResource(run, CONFIG_FILE, "tekton-pipelines");
    const triggers = findResource(run, CONFIG_FILE, "tekton-triggers");
    const interceptors = findResource(run, CONFIG_FILE, "tekton-interceptors");
    assert.deepEqual(pipelines.dependencies, []);
    assert.deepEqual(triggers.dependencies, [pipelines.urn]);
    const gate = findResource(run, JOB, "tekton-webhooks-ready");
    // The interceptors' ClusterInterceptors go through Triggers' webhook: after the gate.
    assert.deepEqual(interceptors.dependencies, [gate.urn]);
    const install = findResource(run, "tekton-gitlab:cluster:TektonInstall", "tekton");
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
      resourcesOfType(run, CONFIG_FILE)
        .map((r) => r.inputs.file)
        .sort(),
      [
        "./manifests/pipeline/previous/v1.14.2/release.yaml",
        "./manifests/pruner/previous/v0.4.1/release.yaml",
        "./manifests/triggers/previous/v0.36.1/interceptors.yaml",
        "./manifests/triggers/previous/v0.36.1/release.yaml",
      ],
    );
    assert.deepEqual(run.values?.tekton, {
      pipelines: "v1.14.2",
      triggers: "v0.36.1",
      chains: null,
      pruner: { version: "v0.4.1" },
      dashboard: null,
    });
  });

  it("installs nothing with install: false and exports tekton as null", async () => {
    const config = withStructured(exampleConfig(), "tekton", (t) => ({ ...t, install: false }));
    const run = await runProgram(config);
    assert.ifError(run.error);
    assert.deepEqual(resourcesOfType(run, CONFIG_FILE), []);
    // No gate either: the cluster's Tekton is assumed to be serving (see docs/operations.md).
    assert.deepEqual(resourcesOfType(run, JOB), []);
    assert.equal(run.values?.tekton, null);
    // The apps are still built on the cluster's own Tekton, waiting only for their namespace.
    const namespace = findResource(run, "kubernetes:core/v1:Namespace", "hello-python-namespace");
    const tasks = resourcesOfType(run, "kubernetes:tekton.dev/v1:Task");
    assert.equal(tasks.length, 5); // tag, build, patch, the GitLab status report, cancel-superseded
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
      assert.equal(files.length, 4);
      // The Pruner's has a second one: its global config (tests/cluster/pruner.test.ts).
      for (const file of files) {
        assert.equal(file.transforms, file.name === "tekton-pruner" ? 2 : 1, file.name);
      }
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

  describe("readiness gate", () => {
    it("runs the gate Job after Pipelines and Triggers, with the stack's kubectl image", async () => {
      const config = withStructured(exampleConfig(), "images", () => ({
        kubectl: "registry.k8s.io/kubectl:v1.35.0",
      }));
      const run = await runProgram(config);
      assert.ifError(run.error);
      const gate = findResource(run, JOB, "tekton-webhooks-ready");
      const expected = readinessGateManifests({
        image: "registry.k8s.io/kubectl:v1.35.0",
        versions: { pipelines: "v1.15.0", triggers: "v0.37.0" },
      }).job;
      assert.deepEqual(gate.inputs.metadata, expected.metadata);
      assert.deepEqual(gate.inputs.spec, expected.spec);
      const pipelines = findResource(run, CONFIG_FILE, "tekton-pipelines");
      const triggers = findResource(run, CONFIG_FILE, "tekton-triggers");
      for (const dependency of [pipelines, triggers]) {
        assert.ok(gate.dependencies.includes(dependency.urn));
      }
      // Its ServiceAccount and RBAC exist before it.
      for (const type of [
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:rbac.authorization.k8s.io/v1:Role",
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
      ]) {
        const rbac = findResource(
          run,
          type,
          `tekton-webhooks-ready-${type.split(":").pop()!.toLowerCase()}`,
        );
        assert.equal(rbac.inputs.metadata.name, READINESS_GATE_NAME);
        assert.ok(gate.dependencies.includes(rbac.urn), type);
      }
    });

    it("makes every Tekton object of every app wait for the gate", async () => {
      const run = await runProgram(exampleConfig());
      assert.ifError(run.error);
      const gate = findResource(run, JOB, "tekton-webhooks-ready");
      const tekton = run.resources.filter((r) => TEKTON_KINDS.test(r.type));
      assert.ok(tekton.length >= 7, tekton.map((r) => r.type).join());
      for (const object of tekton) {
        assert.ok(object.dependencies.includes(gate.urn), `${object.type} ${object.name}`);
      }
    });
  });
});
