import { isSecret, registered, resolve, settle, stackReferences } from "../harness/mocks";
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
import { STACK_OUTPUT_NAMES } from "../../outputs";
import { ProgramRun, exampleConfig, runProgram, withStructured } from "../harness/program";
import consumerProgram = require("../../examples/consumer");

// The contract other stacks rely on. Renaming or removing any of these breaks consumers:
// change this list only together with a note in the outputs reference (docs/configuration.md).
const APP_OUTPUT_KEYS = [
  "buildStatus",
  "eventListener",
  "eventListenerNamespace",
  "mergeRequests",
  "namespace",
  "operationsDeployKey",
  "pipeline",
  "serviceAccount",
  "sourceDeployKey",
  "webhookId",
  "webhookUrl",
];
const DEPLOY_KEY_OUTPUT_KEYS = [
  "canPush",
  "deployKeyId",
  "fingerprintSha256",
  "project",
  "publicKey",
];

async function exampleRun(): Promise<ProgramRun> {
  const run = await runProgram(exampleConfig());
  assert.ifError(run.error);
  return run;
}

describe("outputs contract", function () {
  it("exports exactly the documented stack outputs", async () => {
    const run = await exampleRun();
    assert.deepEqual(Object.keys(run.values!).sort(), ["apps", "tekton", "webhookTokens"]);
    assert.deepEqual([...STACK_OUTPUT_NAMES].sort(), ["apps", "tekton", "webhookTokens"]);
    assert.deepEqual(run.values!.tekton, {
      pipelines: "v1.15.0",
      triggers: "v0.37.0",
      chains: null,
      pruner: { version: "v0.4.1" },
      dashboard: null,
    });
  });

  it("describes each app with stable keys and values", async () => {
    const { values } = await exampleRun();
    const app = values!.apps["hello-python"];
    assert.deepEqual(Object.keys(app).sort(), APP_OUTPUT_KEYS);
    for (const side of ["sourceDeployKey", "operationsDeployKey"]) {
      assert.deepEqual(Object.keys(app[side]).sort(), DEPLOY_KEY_OUTPUT_KEYS);
    }
    assert.equal(app.namespace, "python-hello-build");
    assert.equal(app.serviceAccount, "tekton-build");
    assert.equal(app.pipeline, "build-hello-python");
    // One listener for every app: its name, namespace and URL are the stack's, not the app's.
    assert.equal(app.webhookUrl, "https://builds.192-168-2-119.nip.io/");
    assert.equal(app.eventListener, "tekton-gitlab");
    assert.equal(app.eventListenerNamespace, "tekton-gitlab-listener");
    assert.equal(app.sourceDeployKey.project, "root/hello-python");
    assert.equal(app.sourceDeployKey.canPush, false);
    assert.equal(app.operationsDeployKey.canPush, true);
    assert.equal(typeof app.sourceDeployKey.deployKeyId, "number");
    assert.equal(app.sourceDeployKey.fingerprintSha256, "SHA256:mock-hello-python-source-key");
  });

  it("names each app's build status in GitLab, its Secret and when the managed token expires", async () => {
    const { values } = await exampleRun();
    const status = values!.apps["hello-python"].buildStatus;
    assert.deepEqual(Object.keys(status).sort(), [
      "name",
      "projectAccessTokenId",
      "tokenExpiresAt",
      "tokenSecret",
    ]);
    assert.equal(status.name, "tekton/hello-python");
    assert.equal(status.tokenSecret, "gitlab-status-token");
    assert.equal(typeof status.projectAccessTokenId, "number");
    // An absolute date the dynamic provider chose (mocks echo inputs; the provider computes it).
    assert.equal(typeof status.tokenExpiresAt, "string");

    const byHand = await runProgram(
      withStructured(exampleConfig(), "apps", (apps) =>
        apps.map((app: any) => ({ ...app, statusReporting: { tokenSecretName: "bot-token" } })),
      ),
    );
    assert.ifError(byHand.error);
    assert.deepEqual(byHand.values!.apps["hello-python"].buildStatus, {
      name: "tekton/hello-python",
      tokenSecret: "bot-token",
      projectAccessTokenId: null,
      tokenExpiresAt: null,
    });

    const off = await runProgram(
      withStructured(exampleConfig(), "apps", (apps) =>
        apps.map((app: any) => ({ ...app, statusReporting: false })),
      ),
    );
    assert.ifError(off.error);
    assert.equal(off.values!.apps["hello-python"].buildStatus, null);
  });

  it("says whether merge requests are built, by which Pipeline, under which status name", async () => {
    const { values } = await exampleRun();
    assert.deepEqual(values!.apps["hello-python"].mergeRequests, {
      enabled: false,
      pipeline: null,
      statusName: null,
      push: false,
      retestComment: null,
    });
    const on = await runProgram(
      withStructured(exampleConfig(), "apps", (apps) =>
        apps.map((app: any) => ({
          ...app,
          // push with the example registry's username needs a Secret of its own (config).
          mergeRequests: {
            build: true,
            push: true,
            retestComment: "/build again",
            registrySecretName: "mr-registry",
          },
        })),
      ),
    );
    assert.ifError(on.error);
    assert.deepEqual(on.values!.apps["hello-python"].mergeRequests, {
      enabled: true,
      pipeline: "build-hello-python-merge-request",
      statusName: "tekton/hello-python/merge-request",
      push: true,
      retestComment: "/build again",
    });
    const noStatus = await runProgram(
      withStructured(exampleConfig(), "apps", (apps) =>
        apps.map((app: any) => ({
          ...app,
          statusReporting: false,
          mergeRequests: { build: true },
        })),
      ),
    );
    assert.ifError(noStatus.error);
    assert.equal(noStatus.values!.apps["hello-python"].mergeRequests.statusName, null);
  });

  it("keeps webhook tokens in a secret output and everything else plain", async () => {
    const { outputs, values } = await exampleRun();
    assert.equal(await isSecret(pulumi.output(outputs!.webhookTokens)), true);
    assert.equal(await isSecret(pulumi.output(outputs!.apps)), false);
    assert.equal(await isSecret(pulumi.output(outputs!.tekton)), false);
    assert.deepEqual(Object.keys(values!.webhookTokens), ["hello-python"]);
    assert.ok(!JSON.stringify(values!.apps).includes(values!.webhookTokens["hello-python"]));
  });
});

describe("consumer stack (examples/consumer)", function () {
  it("reads an app's namespace and pipeline and lets a team watch its runs there", async () => {
    const { values } = await exampleRun();
    stackReferences["organization/tekton-gitlab/dev"] = {
      outputs: values!,
      secretOutputNames: ["webhookTokens"],
    };
    pulumi.runtime.setAllConfig({
      "tekton-gitlab-consumer:buildStack": "organization/tekton-gitlab/dev",
      "tekton-gitlab-consumer:app": "hello-python",
      "tekton-gitlab-consumer:team": "python-developers",
    });
    registered.length = 0;
    const outputs = (await consumerProgram()) as Record<string, pulumi.Output<any>>;
    assert.equal(await resolve(outputs.pipeline), "build-hello-python");
    assert.equal(await resolve(outputs.namespace), "python-hello-build");
    assert.equal(await isSecret(outputs.webhookToken), true, "the webhook token lost its secrecy");
    assert.equal(await isSecret(outputs.pipeline), false);

    await settle();
    const binding = registered.find(
      (r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    );
    assert.ok(binding, "no RoleBinding registered");
    assert.equal(binding.inputs.metadata.namespace, "python-hello-build");
    assert.deepEqual(binding.inputs.subjects, [
      { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "python-developers" },
    ]);
    assert.equal(binding.inputs.roleRef.kind, "Role");
    const role = registered.find((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:Role");
    assert.equal(role?.inputs.metadata.namespace, "python-hello-build");
    // Creating PipelineRuns would let the team run any pipelineSpec with the build's write key.
    const verbs = role!.inputs.rules.flatMap((rule: any) => rule.verbs);
    assert.deepEqual([...new Set(verbs)].sort(), ["get", "list", "watch"]);
    // No Chains in the build stack: nothing to verify images with.
    assert.equal(await resolve(outputs.signingPublicKey), null);
  });

  it("passes on the Chains public key (tekton.chains.signingPublicKey) for image verification", async () => {
    const run = await runProgram(
      withStructured(exampleConfig(), "tekton", (t) => ({ ...t, chains: { install: true } })),
    );
    assert.ifError(run.error);
    stackReferences["organization/tekton-gitlab/dev"] = {
      outputs: run.values!,
      secretOutputNames: ["webhookTokens"],
    };
    pulumi.runtime.setAllConfig({
      "tekton-gitlab-consumer:buildStack": "organization/tekton-gitlab/dev",
      "tekton-gitlab-consumer:app": "hello-python",
      "tekton-gitlab-consumer:team": "python-developers",
    });
    const outputs = (await consumerProgram()) as Record<string, pulumi.Output<any>>;
    const key = await resolve(outputs.signingPublicKey);
    assert.match(key, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(key, run.values!.tekton.chains.signingPublicKey);
    assert.equal(await isSecret(outputs.signingPublicKey), false);
    await settle();
  });
});
