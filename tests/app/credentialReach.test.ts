// Who holds which credential, computed from the registered objects as Tekton would mount them
// (tests/harness/credentialReach.ts): the credential table of docs/security.md, as a test.
import "../harness/mocks";
import * as assert from "node:assert/strict";
import { chainsKeychain, credentialReach } from "../harness/credentialReach";
import { exampleConfig, runProgram, withStructured } from "../harness/program";
import { findObject } from "../harness/registered";

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
      // Cancel-in-progress: its own ServiceAccount's API token and nothing else.
      "cancel-superseded": { cancel: ["token:tekton-cancel"] },
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
      "cancel-superseded",
    ]);
    assert.ok(!JSON.stringify(reach).includes("gitlab-status-token"));
  });

  it("cancelSuperseded: false leaves no step with an API token, and no cancel identity", async () => {
    const config = withStructured(exampleConfig(), "apps", (apps) =>
      apps.map((a: any) => ({ ...a, cancelSuperseded: false })),
    );
    const run = await runProgram(config);
    assert.ifError(run.error);
    const reach = credentialReach(run, "python-hello-build");
    assert.deepEqual(Object.keys(reach), [
      "generate-image-tag",
      "build-and-push",
      "patch-deployment",
      "report-running",
      "report-result",
    ]);
    const all = Object.values(reach).flatMap((steps) => Object.values(steps).flat());
    assert.ok(!all.some((name) => name.startsWith("token:")), all.join(", "));
    const names = run.resources.map((r) => `${r.type} ${r.inputs.metadata?.name ?? r.name}`);
    for (const gone of [
      "kubernetes:core/v1:ServiceAccount tekton-cancel",
      "kubernetes:rbac.authorization.k8s.io/v1:Role tekton-cancel-superseded",
      "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding tekton-cancel-superseded",
      "kubernetes:tekton.dev/v1:Task cancel-superseded",
    ]) {
      assert.ok(!names.includes(gone), gone);
    }
    const template = run.resources.find(
      (r) => r.type === "kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate",
    )!;
    assert.deepEqual(template.inputs.spec.resourcetemplates[0].spec.taskRunSpecs, [
      { pipelineTaskName: "build-and-push", serviceAccountName: "tekton-build-push" },
    ]);
  });

  it("the cancel account may get, list and patch PipelineRuns in its namespace, nothing else", async () => {
    const run = await runProgram(exampleConfig());
    assert.ifError(run.error);
    const find = (type: string, name: string) => findObject(run, type, name).inputs;
    const account = find("kubernetes:core/v1:ServiceAccount", "tekton-cancel");
    assert.deepEqual(account, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name: "tekton-cancel",
        namespace: "python-hello-build",
        labels: {
          "app.kubernetes.io/managed-by": "tekton-gitlab",
          "app.kubernetes.io/part-of": "hello-python",
        },
      },
      automountServiceAccountToken: true,
    });
    const role = find("kubernetes:rbac.authorization.k8s.io/v1:Role", "tekton-cancel-superseded");
    assert.equal(role.metadata.namespace, "python-hello-build");
    assert.deepEqual(role.rules, [
      { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["get", "list", "patch"] },
    ]);
    const binding = find(
      "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
      "tekton-cancel-superseded",
    );
    assert.equal(binding.metadata.namespace, "python-hello-build");
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "tekton-cancel-superseded",
    });
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "tekton-cancel", namespace: "python-hello-build" },
    ]);
    // No other binding names the account: it holds exactly this Role.
    const bindings = run.resources.filter(
      (r) =>
        /:(Cluster)?RoleBinding$/.test(r.type) &&
        (r.inputs.subjects ?? []).some((s: any) => s.name === "tekton-cancel"),
    );
    assert.equal(bindings.length, 1);
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
      "cancel-superseded": [],
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

  describe("merge request builds (issue 21): nothing of them can deploy", () => {
    const MERGE_REQUEST_TEMPLATE = "hello-python-merge-request-pipelinerun";
    const withMergeRequests = (push: boolean, registrySecretName?: string) =>
      withStructured(exampleConfig(), "apps", (apps) =>
        apps.map((a: any) => ({
          ...a,
          mergeRequests: {
            build: true,
            push,
            ...(registrySecretName ? { registrySecretName } : {}),
          },
          // The push build's Secret is accepted there only with the layer cache off (config).
          ...(registrySecretName === "registry-credentials"
            ? { build: { ...a.build, cache: { ...a.build?.cache, enabled: false } } }
            : {}),
        })),
      );
    const everyStep = (reach: Record<string, Record<string, string[]>>) =>
      Object.values(reach).flatMap((steps) => Object.values(steps).flat());
    // push: true with the example registry's username needs registrySecretName (config).
    const CASES: { push: boolean; registrySecretName?: string }[] = [
      { push: false },
      { push: false, registrySecretName: "mr-registry" },
      { push: true, registrySecretName: "mr-registry" },
      // The operator may name the push build's own Secret (with the layer cache off): then, and
      // only then, it is lent.
      { push: true, registrySecretName: "registry-credentials" },
    ];
    const label = ({ push, registrySecretName }: (typeof CASES)[number]) =>
      `push: ${push}${registrySecretName ? `, registrySecretName: ${registrySecretName}` : ""}`;

    for (const mergeRequests of CASES) {
      const { push, registrySecretName } = mergeRequests;
      it(`git-pull in the fetch, the registry in Kaniko only, the TaskRun reader in report-result only (${label(mergeRequests)})`, async () => {
        const run = await runProgram(withMergeRequests(push, registrySecretName));
        assert.ifError(run.error);
        const reach = credentialReach(run, "python-hello-build", MERGE_REQUEST_TEMPLATE);
        // Kaniko holds exactly the Secret named for merge requests, or nothing: a merge request's
        // RUN lines can read whatever Kaniko mounts.
        const registry = registrySecretName === undefined ? [] : [registrySecretName];
        assert.deepEqual(reach, {
          "fetch-merge-request": { fetch: ["git-pull"] },
          "build-merge-request": push ? { "build-and-push": registry } : { build: registry },
          "cancel-superseded": { cancel: ["token:tekton-cancel"] },
          "report-running": { "describe-failure": [], "post-status": ["gitlab-status-token"] },
          // The one step that reads TaskRuns holds the reader's token and no GitLab token.
          "report-result": {
            "describe-failure": ["token:tekton-status-reader"],
            "post-status": ["gitlab-status-token", "token:tekton-status-reader"],
          },
        });
        assert.ok(!everyStep(reach).includes("git-write"));
        assert.equal(
          everyStep(reach).includes("registry-credentials"),
          registrySecretName === "registry-credentials",
          "registry-credentials reaches a merge request step it was not named for",
        );
        // The push build beside it is as before.
        assert.deepEqual(
          credentialReach(run, "python-hello-build", "hello-python-pipelinerun"),
          await reachOf(exampleConfig()),
        );
      });
    }

    it("an anonymous registry with push: true: Kaniko holds nothing", async () => {
      const config = withStructured(withMergeRequests(true), "registry", (r) => ({ host: r.host }));
      delete config["tekton-gitlab:registryPassword"];
      const run = await runProgram(config);
      assert.ifError(run.error);
      const reach = credentialReach(run, "python-hello-build", MERGE_REQUEST_TEMPLATE);
      assert.deepEqual(reach["build-merge-request"], { "build-and-push": [] });
    });

    it("Chains gets no registry credentials for a merge request's image: build-merge-request runs as tekton-build", async () => {
      for (const mergeRequests of CASES) {
        const run = await runProgram(
          withMergeRequests(mergeRequests.push, mergeRequests.registrySecretName),
        );
        assert.ifError(run.error);
        // tekton-build lists no Secret: Chains' k8schain finds nothing to push a signature with
        // (and, without IMAGE_URL / IMAGE_DIGEST, no image to sign: tests/mergeRequest).
        assert.deepEqual(
          chainsKeychain(run, "python-hello-build", MERGE_REQUEST_TEMPLATE),
          {
            "fetch-merge-request": [],
            "build-merge-request": [],
            "cancel-superseded": [],
            "report-running": [],
            "report-result": [],
            "(pipelinerun)": [],
          },
          label(mergeRequests),
        );
        const template = run.resources.find(
          (r) =>
            r.type === "kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate" &&
            r.inputs.metadata.name === MERGE_REQUEST_TEMPLATE,
        )!;
        const runSpec = template.inputs.spec.resourcetemplates[0].spec;
        assert.ok(
          !(runSpec.taskRunSpecs ?? []).some(
            (s: any) => s.pipelineTaskName === "build-merge-request",
          ),
          label(mergeRequests),
        );
      }
    });

    it("the status reader lists no Secret and holds exactly get and list of TaskRuns", async () => {
      const run = await runProgram(withMergeRequests(false));
      assert.ifError(run.error);
      const find = (type: string, name: string) => findObject(run, type, name).inputs;
      const account = find("kubernetes:core/v1:ServiceAccount", "tekton-status-reader");
      assert.equal(account.metadata.namespace, "python-hello-build");
      assert.equal(account.secrets, undefined);
      assert.equal(account.imagePullSecrets, undefined);
      assert.equal(account.automountServiceAccountToken, true);
      const role = find("kubernetes:rbac.authorization.k8s.io/v1:Role", "tekton-status-reader");
      assert.deepEqual(role.rules, [
        { apiGroups: ["tekton.dev"], resources: ["taskruns"], verbs: ["get", "list"] },
      ]);
      const bindings = run.resources.filter(
        (r) =>
          /:(Cluster)?RoleBinding$/.test(r.type) &&
          (r.inputs.subjects ?? []).some((s: any) => s.name === "tekton-status-reader"),
      );
      assert.deepEqual(
        bindings.map((b) => [b.type.split(":").pop(), b.inputs.roleRef.name]),
        [["RoleBinding", "tekton-status-reader"]],
      );
    });
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
    // Only the cancel task runs as an account of its own.
    assert.deepEqual(template.inputs.spec.resourcetemplates[0].spec.taskRunSpecs, [
      { pipelineTaskName: "cancel-superseded", serviceAccountName: "tekton-cancel" },
    ]);
  });
});
