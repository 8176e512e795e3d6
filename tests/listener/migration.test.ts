// Moving an existing stack from per-app listeners to the shared one in one `pulumi up`, without
// losing a push. What the engine does (pulumi v3.259.0):
//  - creates and updates run as the program registers resources, each after its dependsOn;
//  - resources in the old state that the program no longer registers, and the old halves of
//    create-before-delete replacements, are deleted only after the program has finished and
//    every create and update is done: pkg/resource/deploy/deployment_executor.go `Execute` ->
//    `performPostSteps` -> step_generator.go `GenerateDeletes` / `ScheduleDeletes`.
// So: the shared route (EventListener, Ingress) and the app's Trigger come first; the hook's URL
// change replaces it (components/gitlab/projectHook.ts `diffProjectHook`), create-before-delete
// because the provider asks for no deleteBeforeReplace, and the hook waits for that route; the
// old hook and the old per-app listeners (no longer in the program) go last.
import "../harness/mocks";
import * as assert from "node:assert/strict";
import { diffProjectHook } from "../../components/gitlab/projectHook";
import { exampleConfig, runProgram, withStructured } from "../harness/program";

const T = {
  hook: "pulumi-nodejs:dynamic/gitlab:ProjectHook",
  listener: "kubernetes:triggers.tekton.dev/v1beta1:EventListener",
  ingress: "kubernetes:networking.k8s.io/v1:Ingress",
  trigger: "kubernetes:triggers.tekton.dev/v1beta1:Trigger",
  password: "random:index/randomPassword:RandomPassword",
  secret: "kubernetes:core/v1:Secret",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
};

describe("migration from per-app listeners to the shared one", function () {
  this.timeout(30000);
  const config = withStructured(exampleConfig(), "apps", (apps) => [
    apps[0],
    { ...apps[0], name: "orders", namespace: undefined, sourceProject: "shop/orders" },
  ]);

  it("repoints each hook only after the shared route and the app's Trigger exist", async () => {
    const run = await runProgram(config);
    assert.ifError(run.error);
    const of = (type: string) => run.resources.filter((r) => r.type === type);
    const [listener] = of(T.listener);
    const [ingress] = of(T.ingress);
    assert.equal(of(T.listener).length, 1);
    assert.equal(of(T.ingress).length, 1);
    assert.ok(ingress.dependencies.includes(listener.urn));
    const hooks = of(T.hook);
    assert.equal(hooks.length, 2);
    for (const hook of hooks) {
      const app = hook.name.replace(/-webhook$/, "");
      const trigger = of(T.trigger).find((t) => t.name === `${app}-trigger`)!;
      for (const before of [listener, ingress, trigger]) {
        assert.ok(hook.dependencies.includes(before.urn), `${hook.name} waits for ${before.name}`);
      }
      // Create-before-delete: the old hook keeps delivering until the new one exists.
      assert.equal(hook.deleteBeforeReplace, false, hook.name);
      assert.equal(hook.inputs.url, "https://builds.192-168-2-119.nip.io/");
    }
  });

  it("replaces a hook whose URL changes, asking for no delete-before-replace", () => {
    const old = {
      project: "root/hello-python",
      url: "https://python-hello-application.build.192-168-2-119.nip.io/",
      token: "t",
      pushEvents: true,
      pushEventsBranchFilter: "main",
      enableSslVerification: true,
      mergeRequestsEvents: false,
      tagPushEvents: false,
      hookId: 1,
    };
    const diff = diffProjectHook(old as any, {
      ...old,
      url: "https://builds.192-168-2-119.nip.io/",
    });
    assert.deepEqual(diff.replaces, ["url"]);
    assert.ok(!diff.deleteBeforeReplace);
  });

  it("keeps the token, its Secret and the hook under their old names (no new token)", async () => {
    const run = await runProgram(config);
    assert.ifError(run.error);
    const names = new Set(run.resources.map((r) => `${r.type} ${r.name}`));
    for (const app of ["hello-python", "orders"]) {
      assert.ok(names.has(`${T.password} ${app}-webhook-token`), app);
      assert.ok(names.has(`${T.secret} ${app}-webhook-secret`), app);
      assert.ok(names.has(`${T.hook} ${app}-webhook`), app);
    }
  });

  it("registers none of the per-app listener objects, so they are deleted last", async () => {
    const run = await runProgram(config);
    assert.ifError(run.error);
    const names = run.resources.map((r) => r.name);
    for (const app of ["hello-python", "orders"]) {
      // The logical names of the per-app listener objects before the shared listener.
      for (const gone of [
        `${app}-event-listener`,
        `${app}-webhook-ingress`,
        `${app}-listener-sa`,
        `${app}-listener-role`,
        `${app}-listener-rolebinding`,
        `${app}-listener-clusterrolebinding`,
      ]) {
        assert.ok(!names.includes(gone), gone);
      }
    }
    // Adding an app adds no EventListener, Ingress or listener ServiceAccount: the only
    // ServiceAccounts are the build, build-and-push and cancel-superseded ones per app, the
    // readiness Jobs' (Tekton's and the Pruner's) and the listener's.
    assert.deepEqual(
      run.resources
        .filter((r) => r.type === T.serviceAccount)
        .map((r) => r.name)
        .sort(),
      [
        "hello-python-cancel-service-account",
        "hello-python-push-service-account",
        "hello-python-service-account",
        "listener-sa",
        "orders-cancel-service-account",
        "orders-push-service-account",
        "orders-service-account",
        "tekton-pruner-ready-serviceaccount",
        "tekton-webhooks-ready-serviceaccount",
      ],
    );
  });
});
