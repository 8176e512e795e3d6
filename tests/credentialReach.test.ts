// Who holds which credential, computed from the registered objects as Tekton would mount them
// (tests/harness/credentialReach.ts): the README's credential table, as a test.
import "./harness/mocks";
import * as assert from "node:assert/strict";
import { chainsKeychain, credentialReach } from "./harness/credentialReach";
import { exampleConfig, runProgram, withStructured } from "./harness/program";

async function reachOf(config: Record<string, string>) {
  const run = await runProgram(config);
  assert.ifError(run.error);
  return credentialReach(run, "python-hello-build");
}

describe("credentials reach only the step that needs them", function () {
  this.timeout(20000);

  it("git-pull in the clone, the registry in Kaniko, git-write in the git steps of patch, the GitLab token in the status steps", async () => {
    assert.deepEqual(await reachOf(exampleConfig()), {
      "generate-image-tag": { "clone-and-tag": ["git-pull"] },
      "build-and-push": { "image-url": [], "build-and-push": ["registry-credentials"] },
      "patch-deployment": {
        clone: ["git-write"],
        "set-image": [],
        "commit-and-push": ["git-write"],
      },
      // The build status in GitLab (issue 12): the one Secret, only in the one step posting it.
      "report-running": { "post-status": ["gitlab-status-token"] },
      "report-result": { "post-status": ["gitlab-status-token"] },
    });
  });

  it("statusReporting: false: no step holds a GitLab token", async () => {
    const config = withStructured(exampleConfig(), "apps", (apps) =>
      apps.map((app: any) => ({ ...app, statusReporting: false })),
    );
    const reach = await reachOf(config);
    assert.deepEqual(Object.keys(reach), [
      "generate-image-tag",
      "build-and-push",
      "patch-deployment",
    ]);
    assert.ok(!JSON.stringify(reach).includes("gitlab-status-token"));
  });

  it("an anonymous registry: the Kaniko pod holds no credential at all", async () => {
    const config = withStructured(exampleConfig(), "registry", (r) => ({ host: r.host }));
    delete config["tekton-gitlab:registryPassword"];
    const reach = await reachOf(config);
    assert.deepEqual(reach["build-and-push"], { "image-url": [], "build-and-push": [] });
    assert.deepEqual(reach["generate-image-tag"], { "clone-and-tag": ["git-pull"] });
  });

  it("Chains pushes signatures with the build task's registry credentials, only that task's", async () => {
    // tektoncd/chains v0.29.2 pkg/chains/storage/oci/legacy.go NewStorageBackend: k8schain with
    // the TaskRun's namespace and ServiceAccount, UseMountSecrets: its imagePullSecrets and
    // secrets. Tekton's credential init (pipeline v1.15.0 pkg/pod/creds_init.go credsInit)
    // reads `secrets` only: imagePullSecrets reach no step (the reach test above).
    const run = await runProgram(exampleConfig());
    assert.ifError(run.error);
    assert.deepEqual(chainsKeychain(run, "python-hello-build"), {
      "generate-image-tag": [],
      "build-and-push": ["registry-credentials"],
      "patch-deployment": [],
      "report-running": [],
      "report-result": [],
      // A PipelineRun's provenance is stored on the PipelineRun (storage tekton), never pushed.
      "(pipelinerun)": [],
    });
    // The push account lists the Secret for pulls only: nothing for credential init to mount.
    const push = run.resources.find(
      (r) =>
        r.type === "kubernetes:core/v1:ServiceAccount" &&
        r.inputs.metadata.name === "tekton-build-push",
    )!;
    assert.deepEqual(push.inputs.imagePullSecrets, [{ name: "registry-credentials" }]);
    assert.equal(push.inputs.secrets, undefined);
    assert.equal(push.inputs.automountServiceAccountToken, false);
  });

  it("an anonymous registry gets no push ServiceAccount: nothing to lend Chains", async () => {
    const config = withStructured(exampleConfig(), "registry", (r) => ({ host: r.host }));
    delete config["tekton-gitlab:registryPassword"];
    const run = await runProgram(config);
    assert.ifError(run.error);
    const keychain = chainsKeychain(run, "python-hello-build");
    assert.deepEqual(keychain["build-and-push"], []);
    const names = run.resources
      .filter((r) => r.type === "kubernetes:core/v1:ServiceAccount")
      .map((r) => r.inputs.metadata.name);
    assert.ok(names.includes("tekton-build"));
    assert.ok(!names.includes("tekton-build-push"), names.join(", "));
    const template = run.resources.find(
      (r) => r.type === "kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate",
    )!;
    assert.equal(template.inputs.spec.resourcetemplates[0].spec.taskRunSpecs, undefined);
  });
});
