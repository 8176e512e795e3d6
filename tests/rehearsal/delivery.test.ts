// The rehearsal's deliveries (tests/rehearsal/delivery.ts) over the objects the program
// registers for a two-app stack: which PipelineRun the shared listener's sink model creates,
// where, and that the emulator finds what it needs in that namespace. Pure (no sshd, no root),
// so it runs in `npm test`; `npm run rehearse` then runs the created PipelineRuns for real.
import "../harness/mocks";
import * as assert from "node:assert/strict";
import { exampleConfig, runProgram, withStructured } from "../harness/program";
import {
  clusterOf,
  delivery,
  MergeRequest,
  mergeRequestDelivery,
  mergeRequestPayload,
  notePayload,
  started,
} from "./delivery";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const ORDERS = {
  name: "orders",
  sourceProject: "shop/orders",
  operationsProject: "shop/orders-operations",
  imageRepository: "shop/orders",
};

describe("Rehearsal deliveries through the shared listener (registered objects)", function () {
  this.timeout(120_000);
  let objects: ReturnType<typeof clusterOf>;

  before(async () => {
    const config = withStructured(exampleConfig(), "apps", (apps) => [
      ...apps,
      { ...apps[0], ...ORDERS, namespace: undefined },
    ]);
    const run = await runProgram(config);
    if (run.error) throw run.error;
    objects = clusterOf(run.resources);
  });

  const tokenOf = (project: string) => {
    const hook = objects.hooks.find((h) => h.project === project);
    assert.ok(hook, `no hook for ${project}`);
    return hook.token;
  };
  const push = (project: string, token: string, branch = "main") =>
    delivery(objects.listener, { project, ref: `refs/heads/${branch}`, sha: SHA, token });

  it("X's push with X's hook token creates X's run, for the pushed SHA, in X's namespace", () => {
    const outcome = push("root/hello-python", tokenOf("root/hello-python"));
    const { namespace, run } = started(outcome, "python-hello-build", "build-hello-python");
    assert.equal(run.spec.params.find((p: any) => p.name === "revision")?.value, SHA);
    assert.ok(Object.values(run.metadata.labels).includes(SHA), "commit label from the overlay");
    assert.match(run.metadata.name, /^build-hello-python-[a-z0-9]+$/);
    // What the emulator resolves in the run's namespace is registered there.
    const cluster = objects.clusters[namespace];
    assert.ok(cluster.pipelines[run.spec.pipelineRef.name]);
    assert.ok(cluster.serviceAccounts[run.spec.taskRunTemplate.serviceAccountName]);
    for (const ws of run.spec.workspaces) {
      if (ws.secret) assert.ok(cluster.secrets[ws.secret.secretName], ws.secret.secretName);
      if (ws.configMap) assert.ok(cluster.configMaps[ws.configMap.name], ws.configMap.name);
    }
  });

  it("Y's push with Y's hook token creates only Y's run, in Y's namespace", () => {
    const outcome = push("shop/orders", tokenOf("shop/orders"));
    started(outcome, "orders-build", "build-orders");
  });

  it("X's payload with Y's token starts nothing", () => {
    const outcome = push("root/hello-python", tokenOf("shop/orders"));
    assert.deepEqual(outcome.created, []);
    assert.equal(
      outcome.stopped["python-hello-build/hello-python-gitlab-push"],
      "gitlab: Invalid X-GitLab-Token",
    );
  });

  it("an unknown project starts nothing and no token is checked", () => {
    for (const project of ["root/hello-python", "shop/orders"]) {
      const outcome = push("shop/unknown", tokenOf(project));
      assert.deepEqual(outcome.created, []);
      assert.deepEqual(outcome.calls, { cel: 2 });
    }
  });

  it("a push to another branch starts nothing", () => {
    const outcome = push("root/hello-python", tokenOf("root/hello-python"), "feature");
    assert.deepEqual(outcome.created, []);
    assert.equal(
      outcome.stopped["python-hello-build/hello-python-gitlab-push"],
      "cel: filter false",
    );
  });

  it("started() refuses a delivery that created nothing or the wrong app's run", () => {
    const nothing = push("shop/unknown", tokenOf("root/hello-python"));
    assert.throws(
      () => started(nothing, "python-hello-build", "build-hello-python"),
      /expected one/,
    );
    const orders = push("shop/orders", tokenOf("shop/orders"));
    assert.throws(
      () => started(orders, "python-hello-build", "build-hello-python"),
      /expected python-hello-build\/build-hello-python/,
    );
  });
});

describe("Rehearsal merge request deliveries (registered objects, mergeRequests.build)", function () {
  this.timeout(120_000);
  let objects: ReturnType<typeof clusterOf>;
  let token: string;
  const NS = "python-hello-build";
  const PIPELINE = "build-hello-python-merge-request";
  const mr: MergeRequest = {
    project: "root/hello-python",
    projectId: 42,
    iid: 7,
    sourceBranch: "add-greeting",
    targetBranch: "main",
    sha: SHA,
  };

  before(async () => {
    const config = withStructured(exampleConfig(), "apps", (apps) => [
      { ...apps[0], mergeRequests: { build: true } },
    ]);
    const run = await runProgram(config);
    if (run.error) throw run.error;
    objects = clusterOf(run.resources);
    token = objects.hooks.find((h) => h.project === mr.project)!.token;
  });

  const event = (body: any) =>
    mergeRequestDelivery(objects.listener, "Merge Request Hook", body, token);
  const note = (text: string) =>
    mergeRequestDelivery(objects.listener, "Note Hook", notePayload(mr, text), token);

  it("an opened merge request creates one run of its head, labelled with its iid", () => {
    const { namespace, run } = started(event(mergeRequestPayload(mr, "open")), NS, PIPELINE);
    const params = Object.fromEntries(run.spec.params.map((p: any) => [p.name, p.value]));
    assert.equal(params.revision, SHA);
    assert.equal(params["merge-request-iid"], "7");
    assert.equal(params["source-branch"], "add-greeting");
    assert.equal(run.metadata.labels["tekton-gitlab.io/merge-request"], "7");
    // The status task's account is registered there and mounts its token (the emulator then
    // hands the step a kubeconfig, as it does for tekton-cancel).
    const reader = run.spec.taskRunSpecs.find((s: any) => s.pipelineTaskName === "report-result");
    const account = objects.clusters[namespace].serviceAccounts[reader.serviceAccountName];
    assert.equal(account?.automountServiceAccountToken, true);
  });

  it("an update with new commits (oldrev) builds; one without does not", () => {
    started(event(mergeRequestPayload(mr, "update", "f".repeat(40))), NS, PIPELINE);
    const labels = event(mergeRequestPayload(mr, "update"));
    assert.deepEqual(labels.created, []);
    assert.equal(labels.stopped[`${NS}/hello-python-gitlab-merge-request`], "cel: filter false");
  });

  it("a close and a fork's merge request start nothing, and no token is checked", () => {
    for (const body of [
      mergeRequestPayload({ ...mr, state: "closed" }, "close"),
      mergeRequestPayload({ ...mr, sourceProjectId: 4242 }, "open"),
    ]) {
      const outcome = event(body);
      assert.deepEqual(outcome.created, []);
      assert.equal(outcome.calls.gitlab ?? 0, 0);
    }
  });

  it("'/retest' (trimmed) rebuilds the head; any other comment starts nothing", () => {
    const { run } = started(note(" /retest\n"), NS, PIPELINE);
    assert.equal(run.spec.params.find((p: any) => p.name === "revision")?.value, SHA);
    assert.deepEqual(note("This MR needs work.").created, []);
  });

  it("a push still starts only the push build", () => {
    const outcome = delivery(objects.listener, {
      project: mr.project,
      ref: "refs/heads/main",
      sha: SHA,
      token,
    });
    started(outcome, NS, "build-hello-python");
  });
});
