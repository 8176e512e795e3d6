// Simulated deliveries through the shared EventListener: GitLab's push payload goes through
// every selected Trigger's interceptors, the TriggerBinding's $(body.*) paths and the
// TriggerTemplate's $(tt.params.*) substitution the way Triggers' sink does it
// (tests/harness/sharedListener.ts), giving the PipelineRuns the listener would create.
import * as assert from "node:assert/strict";
import { sshCloneUrl } from "../../tekton/core/names";
import { pushFilter, triggerObjects } from "../../tekton/listener/triggers";
import { RUN_METADATA } from "../../tekton/core/names";
import { deliver as deliverTo, evaluateFilter, selectTriggers } from "../harness/sharedListener";
import { exampleApp, pushHeaders, pushPayload, sharedCluster } from "./helpers";

const TOKENS: Record<string, string> = {
  "hello-python": "token-of-hello-python-0123456789",
  orders: "token-of-orders-0123456789abcdef",
  billing: "token-of-billing-0123456789abcde",
};
const EXTRA = [{ name: "orders" }, { name: "billing", branch: "release" }];

/**
 * One push through the shared listener (tests/harness/sharedListener.ts models Triggers'
 * sink), with `edit` applied to the example app; returns the one PipelineRun it must create.
 */
function deliver(body: any, edit?: (app: any) => any) {
  const { app, ctx } = exampleApp(edit);
  const { cluster } = sharedCluster([], { [app.name]: TOKENS["hello-python"] });
  if (edit) {
    const objects = triggerObjects(app, ctx);
    cluster.triggers = [objects.trigger];
    cluster.bindings = [objects.binding];
    cluster.templates = [objects.template];
  }
  const outcome = deliverTo(cluster, { headers: pushHeaders(TOKENS["hello-python"]), body });
  assert.equal(outcome.created.length, 1, JSON.stringify(outcome.stopped));
  const { run } = outcome.created[0];
  return { app, ctx, run, param: (name: string) => run.spec.params.find((p) => p.name === name) };
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe("Simulated GitLab push delivery", function () {
  it("uses a documented push payload the listener's filter admits", () => {
    const body = pushPayload();
    const { app } = exampleApp();
    assert.equal(body.object_kind, "push");
    assert.equal(body.ref, `refs/heads/${app.branch}`);
    assert.equal(body.project.path_with_namespace, app.sourceProject);
    // The CEL filter's branch literal and SHA pattern, applied to the fixture.
    const filter = pushFilter(app.branch);
    assert.ok(filter.startsWith(`body.ref == '${body.ref}' && `), filter);
    const shaPattern = /matches\('([^']+)'\)/.exec(filter)![1];
    assert.match(body.checkout_sha, new RegExp(shaPattern));
  });

  it("creates a PipelineRun that builds exactly the pushed commit", () => {
    const body = pushPayload();
    const { run, param } = deliver(body);
    assert.equal(run.kind, "PipelineRun");
    assert.equal(run.spec.pipelineRef.name, "build-hello-python");
    assert.equal(param("revision")?.value, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    assert.equal(param("revision")?.value, body.checkout_sha);
    assert.equal(run.metadata.labels[RUN_METADATA.commitLabel], body.checkout_sha);
  });

  it("follows the payload's SHA, not a fixed value", () => {
    const body = { ...pushPayload(), checkout_sha: "0123456789abcdef0123456789abcdef01234567" };
    const { param, run } = deliver(body);
    assert.equal(param("revision")?.value, "0123456789abcdef0123456789abcdef01234567");
    assert.equal(
      run.metadata.labels[RUN_METADATA.commitLabel],
      "0123456789abcdef0123456789abcdef01234567",
    );
  });

  it("clones the configured URLs, never the payload's", () => {
    const body = pushPayload();
    body.project.git_ssh_url = "git@attacker.example:evil/repo.git";
    body.repository.git_ssh_url = "git@attacker.example:evil/repo.git";
    body.repository.url = "git@attacker.example:evil/repo.git";
    const { ctx, param, run } = deliver(body);
    assert.equal(param("source-url")?.value, sshCloneUrl(ctx.gitSsh, "root/hello-python"));
    assert.equal(
      param("operations-url")?.value,
      sshCloneUrl(ctx.gitSsh, "root/hello-python-operations"),
    );
    assert.doesNotMatch(JSON.stringify(run), /attacker|gitlab\.apps\.192-168-2-114/);
    assert.notEqual(param("source-url")?.value, pushPayload().project.git_ssh_url);
  });

  it("records the event's ref and project and labels the run validly", () => {
    const { run } = deliver(pushPayload(), (a) => ({ ...a, branch: "main" }));
    assert.equal(run.metadata.annotations[RUN_METADATA.refAnnotation], "refs/heads/main");
    assert.equal(run.metadata.annotations[RUN_METADATA.projectAnnotation], "root/hello-python");
    assert.equal(run.metadata.generateName, "build-hello-python-");
    for (const [key, value] of Object.entries(run.metadata.labels)) {
      assert.match(value, LABEL_VALUE, key);
      assert.ok(value.length <= 63, key);
    }
  });

  it("builds a SHA-256 commit whole and labels it with its first 40 characters", () => {
    const body = pushPayload();
    body.checkout_sha = body.after = "0123456789abcdef".repeat(4);
    const { run, param } = deliver(body);
    assert.equal(param("revision")?.value, body.checkout_sha);
    assert.equal(run.metadata.labels[RUN_METADATA.commitLabel], body.checkout_sha.slice(0, 40));
    assert.match(run.metadata.labels[RUN_METADATA.commitLabel], LABEL_VALUE);
  });

  it("keeps a pushed ref with a slash valid in labels (branch from config)", () => {
    const body = { ...pushPayload(), ref: "refs/heads/release/2.0" };
    const { run } = deliver(body, (a) => ({ ...a, branch: "release/2.0" }));
    assert.equal(run.metadata.labels[RUN_METADATA.branchLabel], "release-2.0");
    assert.equal(run.metadata.annotations[RUN_METADATA.refAnnotation], "refs/heads/release/2.0");
    for (const value of Object.values(run.metadata.labels)) assert.match(value, LABEL_VALUE);
  });
});

describe("Shared listener: which app a delivery starts", function () {
  const { config, cluster } = sharedCluster(EXTRA, TOKENS);
  const payloadFor = (project: string, branch = "main") => {
    const body = pushPayload();
    body.project.path_with_namespace = project;
    body.ref = `refs/heads/${branch}`;
    return body;
  };

  it("selects every app's Trigger, in the apps' namespaces only", () => {
    assert.deepEqual(
      selectTriggers(cluster)
        .map((t) => `${t.metadata.namespace}/${t.metadata.name}`)
        .sort(),
      [
        "billing-build/billing-gitlab-push",
        "orders-build/orders-gitlab-push",
        "python-hello-build/hello-python-gitlab-push",
      ],
    );
    // A Trigger in a selected namespace without the listener's label is not picked up.
    const stray = structuredClone(cluster.triggers[1]);
    stray.metadata.name = "not-ours";
    stray.metadata.labels = {};
    assert.equal(selectTriggers({ ...cluster, triggers: [...cluster.triggers, stray] }).length, 3);
  });

  it("starts only X's pipeline, in X's namespace, for X's push with X's token", () => {
    for (const app of config.apps) {
      const body = payloadFor(app.sourceProject, app.branch);
      const outcome = deliverTo(cluster, { headers: pushHeaders(TOKENS[app.name]), body });
      assert.deepEqual(
        outcome.created.map((c) => [c.namespace, c.run.spec.pipelineRef.name]),
        [[app.namespace, `build-${app.name}`]],
        app.name,
      );
      assert.equal(outcome.created[0].run.spec.params[1].value, body.checkout_sha);
    }
  });

  it("starts nothing for X's payload with Y's token", () => {
    const body = payloadFor("shop/orders");
    const outcome = deliverTo(cluster, { headers: pushHeaders(TOKENS.billing), body });
    assert.deepEqual(outcome.created, []);
    assert.equal(
      outcome.stopped["orders-build/orders-gitlab-push"],
      "gitlab: Invalid X-GitLab-Token",
    );
    // Y's Trigger stopped at its project filter, before its token was even read.
    assert.equal(outcome.stopped["billing-build/billing-gitlab-push"], "cel: filter false");
  });

  it("starts nothing without a token, or for an event that is not a push", () => {
    const body = payloadFor("shop/orders");
    assert.deepEqual(deliverTo(cluster, { headers: pushHeaders(""), body }).created, []);
    const tag = { ...pushHeaders(TOKENS.orders), "X-Gitlab-Event": "Tag Push Hook" };
    assert.deepEqual(deliverTo(cluster, { headers: tag, body }).created, []);
  });

  it("starts nothing for an unknown project, whatever the token", () => {
    for (const token of Object.values(TOKENS)) {
      const outcome = deliverTo(cluster, {
        headers: pushHeaders(token),
        body: payloadFor("shop/unknown"),
      });
      assert.deepEqual(outcome.created, []);
      assert.equal(outcome.calls.gitlab ?? 0, 0, "no token check for a project no app builds");
    }
  });

  it("starts nothing for a known project on another branch", () => {
    const outcome = deliverTo(cluster, {
      headers: pushHeaders(TOKENS.billing),
      body: payloadFor("shop/billing", "main"),
    });
    assert.deepEqual(outcome.created, []);
  });

  it("starts nothing for a payload without a project (a CEL error stops the Trigger)", () => {
    const body = payloadFor("shop/orders");
    delete body.project;
    assert.deepEqual(deliverTo(cluster, { headers: pushHeaders(TOKENS.orders), body }).created, []);
  });

  it("reads each token in the Trigger's own namespace (ParseTriggerID)", () => {
    // The same Secret name in another namespace does not count: move orders' Secret away.
    const moved = structuredClone(cluster);
    moved.secrets["billing-build/orders-webhook"] = moved.secrets["orders-build/orders-webhook"];
    delete moved.secrets["orders-build/orders-webhook"];
    const outcome = deliverTo(moved, {
      headers: pushHeaders(TOKENS.orders),
      body: payloadFor("shop/orders"),
    });
    assert.deepEqual(outcome.created, []);
    assert.equal(
      outcome.stopped["orders-build/orders-gitlab-push"],
      "gitlab: error getting secret",
    );
  });

  it("creates the run only where the listener may create PipelineRuns", () => {
    const noBinding = { ...cluster, roleBindings: cluster.roleBindings.slice(1) };
    const outcome = deliverTo(noBinding, {
      headers: pushHeaders(TOKENS["hello-python"]),
      body: payloadFor("root/hello-python"),
    });
    assert.deepEqual(outcome.created, []);
    assert.match(
      outcome.stopped["python-hello-build/hello-python-gitlab-push"],
      /forbidden: create pipelineruns in python-hello-build/,
    );
  });

  it("matches the project path exactly, not a prefix or a look-alike", () => {
    const odd = exampleApp((a) => ({ ...a, sourceProject: "group.sub/my_app-1" })).app;
    const filter = triggerObjects(odd, exampleApp().ctx).trigger.spec.interceptors[0].params[0]
      .value as string;
    assert.equal(evaluateFilter(filter, payloadFor("group.sub/my_app-1")), true);
    for (const other of ["group.sub/my_app-10", "group.sub/my_app", "groupXsub/my_app-1"]) {
      assert.equal(evaluateFilter(filter, payloadFor(other)), false, other);
    }
  });
});
