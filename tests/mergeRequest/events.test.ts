// GitLab's documented merge request and comment deliveries through the shared listener model
// (tests/harness/sharedListener.ts: Triggers v0.37.0's sink, the CEL filters evaluated by a real
// CEL interpreter): which events build a merge request, and that every other event creates no
// PipelineRun at all, from any Trigger of any app.
import * as assert from "node:assert/strict";
import { AppConfig } from "../../config/schema";
import { buildContext } from "../../tekton/build/context";
import { appLabels, RUN_METADATA } from "../../tekton/core/names";
import { mergeRequestPipelineName } from "../../tekton/mergeRequest/pipeline";
import { MERGE_REQUEST_LABEL } from "../../tekton/mergeRequest/runs";
import {
  MERGE_REQUEST_EVENT_TYPE,
  mergeRequestRunTemplate,
  mergeRequestTriggerNames,
  NOTE_EVENT_TYPE,
} from "../../tekton/mergeRequest/triggers";
import { PUSH_EVENT_TYPE, triggerNames } from "../../tekton/listener/triggers";
import { Cluster, deliver, Outcome, selectTriggers } from "../harness/sharedListener";
import { pushPayload } from "../listener/helpers";
import { headers, mergeRequestEvent, mergeRequestStack, noteEvent, TOKENS } from "./helpers";

const OLDREV = "0123456789abcdef0123456789abcdef01234567";

/** The run the template renders for this merge request, as the sink would fill it. */
function expectedRun(app: AppConfig, ctx: ReturnType<typeof buildContext>, mr: any): any {
  const values: Record<string, string> = {
    revision: mr.last_commit.id,
    "merge-request-iid": String(mr.iid),
    "source-branch": mr.source_branch,
    "commit-label": mr.last_commit.id.slice(0, 40),
  };
  return JSON.parse(
    JSON.stringify(mergeRequestRunTemplate(app, ctx)).replace(
      /\$\(tt\.params\.([a-z-]+)\)/g,
      (_, name: string) => JSON.stringify(values[name]).slice(1, -1),
    ),
  );
}

/** Nothing created, and every Trigger stopped in its interceptors (not later, by chance). */
function assertNothing(outcome: Outcome, what: string) {
  assert.deepEqual(
    outcome.created.map((c) => `${c.trigger} -> ${c.run.spec.pipelineRef.name}`),
    [],
    what,
  );
  for (const [trigger, why] of Object.entries(outcome.stopped)) {
    assert.match(why, /^(cel|gitlab): /, `${what}: ${trigger} stopped by ${why}`);
  }
}

describe("merge request events through the shared listener", () => {
  const { config, cluster, app, orders } = mergeRequestStack();
  const ctx = buildContext(config);
  const names = mergeRequestTriggerNames(app);
  const mrTrigger = `${app.namespace}/${names.mergeRequest.trigger}`;
  const noteTrigger = `${app.namespace}/${names.note.trigger}`;
  const send = (body: any, event: string, token = TOKENS[app.name], target: Cluster = cluster) =>
    deliver(target, { headers: headers(event, token), body });
  const mrEvent = (edit: (attributes: any, body: any) => void = () => {}) => {
    const body = mergeRequestEvent(app.sourceProject);
    edit(body.object_attributes, body);
    return body;
  };
  const note = (text: string, edit: (body: any) => void = () => {}) => {
    const body = noteEvent(app.sourceProject, text);
    edit(body);
    return body;
  };

  /** Exactly one run, of the merge request pipeline, from `trigger`, as the template says. */
  function assertBuilds(outcome: Outcome, trigger: string, mr: any) {
    assert.equal(outcome.created.length, 1, JSON.stringify(outcome.stopped));
    const [created] = outcome.created;
    assert.equal(created.trigger, trigger);
    assert.equal(created.namespace, app.namespace);
    const { run } = created as { run: any };
    assert.equal(run.spec.pipelineRef.name, mergeRequestPipelineName(app));
    const param = (name: string) => run.spec.params.find((p: any) => p.name === name)?.value;
    assert.equal(param("revision"), mr.last_commit.id);
    assert.equal(param("merge-request-iid"), "1");
    assert.equal(param("source-branch"), mr.source_branch);
    assert.deepEqual(run.metadata.labels, {
      ...appLabels(app),
      [RUN_METADATA.commitLabel]: mr.last_commit.id,
      [MERGE_REQUEST_LABEL]: "1",
    });
    assert.deepEqual(run.metadata.annotations, {
      [RUN_METADATA.branchAnnotation]: mr.source_branch,
      [RUN_METADATA.refAnnotation]: "refs/merge-requests/1/head",
      [RUN_METADATA.projectAnnotation]: app.sourceProject,
    });
    assert.deepEqual(run, expectedRun(app, ctx, mr));
  }

  it("selects the push and both merge request Triggers of every app", () => {
    assert.deepEqual(
      selectTriggers(cluster)
        .map((t) => `${t.metadata.namespace}/${t.metadata.name}`)
        .sort(),
      [
        `${app.namespace}/${names.mergeRequest.trigger}`,
        `${app.namespace}/${names.note.trigger}`,
        `${app.namespace}/${triggerNames(app).trigger}`,
        `${orders.namespace}/orders-gitlab-merge-request`,
        `${orders.namespace}/orders-gitlab-note`,
        `${orders.namespace}/orders-gitlab-push`,
      ].sort(),
    );
  });

  describe("builds exactly one run of build-<app>-merge-request", () => {
    it("when a merge request is opened (the documented payload)", () => {
      const body = mrEvent();
      assert.equal(body.object_attributes.action, "open");
      assertBuilds(send(body, MERGE_REQUEST_EVENT_TYPE), mrTrigger, body.object_attributes);
    });

    it("when it is reopened", () => {
      const body = mrEvent((a) => (a.action = "reopen"));
      assertBuilds(send(body, MERGE_REQUEST_EVENT_TYPE), mrTrigger, body.object_attributes);
    });

    it("when it is updated with new commits (oldrev present)", () => {
      const body = mrEvent((a) => {
        a.action = "update";
        a.oldrev = OLDREV;
        a.last_commit.id = "89abcdef0123456789abcdef0123456789abcdef";
      });
      assertBuilds(send(body, MERGE_REQUEST_EVENT_TYPE), mrTrigger, body.object_attributes);
    });

    it("for a /retest comment (the documented payload), at the merge request's head", () => {
      const body = note("/retest");
      assertBuilds(send(body, NOTE_EVENT_TYPE), noteTrigger, body.merge_request);
    });

    it("for a /retest comment with surrounding whitespace (trimmed)", () => {
      const body = note("  /retest \n");
      assertBuilds(send(body, NOTE_EVENT_TYPE), noteTrigger, body.merge_request);
      const tabs = note("\t/retest\r\n");
      assertBuilds(send(tabs, NOTE_EVENT_TYPE), noteTrigger, tabs.merge_request);
    });

    it("for the app's own retestComment, and then not for /retest", () => {
      const custom = mergeRequestStack((a) => ({
        ...a,
        mergeRequests: { build: true, retestComment: "/tekton build" },
      }));
      const body = note(" /tekton build ");
      const outcome = deliver(custom.cluster, {
        headers: headers(NOTE_EVENT_TYPE, TOKENS[app.name]),
        body,
      });
      assertBuilds(outcome, noteTrigger, body.merge_request);
      assertNothing(
        deliver(custom.cluster, {
          headers: headers(NOTE_EVENT_TYPE, TOKENS[app.name]),
          body: note("/retest"),
        }),
        "/retest with another retestComment",
      );
    });

    it("for a source branch with quotes, & and <> (JSON-escaped by the binding, intact in the run)", () => {
      const body = mrEvent((a) => (a.source_branch = 'feature/"quoted"&<x>'));
      assertBuilds(send(body, MERGE_REQUEST_EVENT_TYPE), mrTrigger, body.object_attributes);
    });

    it("for another app's merge request, in that app's namespace only", () => {
      const body = mergeRequestEvent(orders.sourceProject);
      const outcome = send(body, MERGE_REQUEST_EVENT_TYPE, TOKENS.orders);
      assert.deepEqual(
        outcome.created.map((c) => [c.namespace, c.run.spec.pipelineRef.name]),
        [[orders.namespace, mergeRequestPipelineName(orders)]],
      );
    });
  });

  describe("creates no run at all", () => {
    const cases: [string, () => any, string][] = [
      [
        "an update without oldrev: a label change (the documented changes)",
        () => mrEvent((a) => (a.action = "update")),
        MERGE_REQUEST_EVENT_TYPE,
      ],
      [
        "an update without oldrev: a description edit",
        () =>
          mrEvent((a, body) => {
            a.action = "update";
            body.changes = { description: { previous: "", current: "Now described" } };
          }),
        MERGE_REQUEST_EVENT_TYPE,
      ],
      ["approved", () => mrEvent((a) => (a.action = "approved")), MERGE_REQUEST_EVENT_TYPE],
      ["approval", () => mrEvent((a) => (a.action = "approval")), MERGE_REQUEST_EVENT_TYPE],
      ["unapproved", () => mrEvent((a) => (a.action = "unapproved")), MERGE_REQUEST_EVENT_TYPE],
      ["unapproval", () => mrEvent((a) => (a.action = "unapproval")), MERGE_REQUEST_EVENT_TYPE],
      [
        "close",
        () => mrEvent((a) => Object.assign(a, { action: "close", state: "closed" })),
        MERGE_REQUEST_EVENT_TYPE,
      ],
      [
        "merge",
        () => mrEvent((a) => Object.assign(a, { action: "merge", state: "merged" })),
        MERGE_REQUEST_EVENT_TYPE,
      ],
      [
        "an update with oldrev of a closed merge request",
        () =>
          mrEvent((a) => Object.assign(a, { action: "update", oldrev: OLDREV, state: "closed" })),
        MERGE_REQUEST_EVENT_TYPE,
      ],
      [
        "/retest on a closed merge request",
        () => note("/retest", (b) => (b.merge_request.state = "closed")),
        NOTE_EVENT_TYPE,
      ],
      [
        "/retest on a merged merge request",
        () => note("/retest", (b) => (b.merge_request.state = "merged")),
        NOTE_EVENT_TYPE,
      ],
      [
        "a merge request from a fork (source_project_id != target_project_id)",
        () => mrEvent((a) => (a.source_project_id = 99)),
        MERGE_REQUEST_EVENT_TYPE,
      ],
      [
        "a fork's merge request updated with oldrev",
        () =>
          mrEvent((a) =>
            Object.assign(a, { action: "update", oldrev: OLDREV, source_project_id: 99 }),
          ),
        MERGE_REQUEST_EVENT_TYPE,
      ],
      [
        "/retest on a fork's merge request",
        () => note("/retest", (b) => (b.merge_request.source_project_id = 99)),
        NOTE_EVENT_TYPE,
      ],
      ["/retest please", () => note("/retest please"), NOTE_EVENT_TYPE],
      ["/RETEST", () => note("/RETEST"), NOTE_EVENT_TYPE],
      ["/retest behind a zero-width space", () => note("\u200b/retest"), NOTE_EVENT_TYPE],
      ["the documented comment's own text", () => note("This MR needs work."), NOTE_EVENT_TYPE],
      [
        "an edited comment (action update)",
        () => note("/retest", (b) => (b.object_attributes.action = "update")),
        NOTE_EVENT_TYPE,
      ],
      ...(["Issue", "Commit", "Snippet"] as const).map((type): [string, () => any, string] => [
        `/retest on a ${type.toLowerCase()}`,
        () =>
          note("/retest", (b) => {
            b.object_attributes.noteable_type = type;
            b[type.toLowerCase()] = b.merge_request;
            delete b.merge_request;
          }),
        NOTE_EVENT_TYPE,
      ]),
      [
        "/retest on a commit that still carries a merge_request key",
        () => note("/retest", (b) => (b.object_attributes.noteable_type = "Commit")),
        NOTE_EVENT_TYPE,
      ],
      [
        "another project's merge request",
        () => mergeRequestEvent("shop/unknown"),
        MERGE_REQUEST_EVENT_TYPE,
      ],
      ["another project's /retest", () => noteEvent("shop/unknown", "/retest"), NOTE_EVENT_TYPE],
      [
        "a merge request into another project than the hook's",
        () => mrEvent((a) => Object.assign(a, { source_project_id: 7, target_project_id: 7 })),
        MERGE_REQUEST_EVENT_TYPE,
      ],
      ["a merge request payload sent as a Note Hook", () => mrEvent(), NOTE_EVENT_TYPE],
      [
        "a comment payload sent as a Merge Request Hook",
        () => note("/retest"),
        MERGE_REQUEST_EVENT_TYPE,
      ],
      [
        "/retest as an internal note (Confidential Note Hook)",
        () => note("/retest"),
        "Confidential Note Hook",
      ],
      ["a merge request payload sent as a Push Hook", () => mrEvent(), PUSH_EVENT_TYPE],
      ["a comment payload sent as a Push Hook", () => note("/retest"), PUSH_EVENT_TYPE],
      ...[
        "da15608",
        "DA1560886D4F094C3E6C9EF40349F7D38B5D27D7",
        "zz1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "da1560886d4f094c3e6c9ef40349f7d38b5d27d7\n",
        "--upload-pack=touch",
      ].flatMap((id): [string, () => any, string][] => [
        [
          `last_commit.id ${JSON.stringify(id)}`,
          () => mrEvent((a) => (a.last_commit.id = id)),
          MERGE_REQUEST_EVENT_TYPE,
        ],
        [
          `/retest with last_commit.id ${JSON.stringify(id)}`,
          () => note("/retest", (b) => (b.merge_request.last_commit.id = id)),
          NOTE_EVENT_TYPE,
        ],
      ]),
      [
        "a last_commit.id that is not a string",
        () => mrEvent((a) => (a.last_commit.id = 1234)),
        MERGE_REQUEST_EVENT_TYPE,
      ],
      ...([0, -1, 1.5, "1", 2147483648, null] as const).flatMap(
        (iid): [string, () => any, string][] => [
          [
            `iid ${JSON.stringify(iid)}`,
            () => mrEvent((a) => (a.iid = iid)),
            MERGE_REQUEST_EVENT_TYPE,
          ],
          [
            `/retest with iid ${JSON.stringify(iid)}`,
            () => note("/retest", (b) => (b.merge_request.iid = iid)),
            NOTE_EVENT_TYPE,
          ],
        ],
      ),
    ];
    for (const [what, body, event] of cases) {
      it(`for ${what}`, () => assertNothing(send(body(), event), what));
    }

    it("with a wrong or missing token, for the merge request and the /retest", () => {
      for (const token of [TOKENS.orders, "", `${TOKENS[app.name]}x`]) {
        assertNothing(send(mrEvent(), MERGE_REQUEST_EVENT_TYPE, token), `MR, token ${token}`);
        assertNothing(send(note("/retest"), NOTE_EVENT_TYPE, token), `note, token ${token}`);
      }
    });

    it("with mergeRequests.build off: neither the event nor /retest", () => {
      const off = mergeRequestStack((a) => ({ ...a, mergeRequests: { build: false } }));
      assert.equal(
        off.cluster.triggers.filter((t) => t.metadata.namespace === app.namespace).length,
        1,
        "only the push Trigger",
      );
      for (const [body, event] of [
        [mrEvent(), MERGE_REQUEST_EVENT_TYPE],
        [
          mrEvent((a) => Object.assign(a, { action: "update", oldrev: OLDREV })),
          MERGE_REQUEST_EVENT_TYPE,
        ],
        [note("/retest"), NOTE_EVENT_TYPE],
      ] as const) {
        assertNothing(send(body, event, TOKENS[app.name], off.cluster), event);
      }
    });
  });

  describe("push and merge request Triggers stay apart", () => {
    it("the push Trigger never fires for merge request or comment events", () => {
      const push = `${app.namespace}/${triggerNames(app).trigger}`;
      for (const [body, event] of [
        [mrEvent(), MERGE_REQUEST_EVENT_TYPE],
        [note("/retest"), NOTE_EVENT_TYPE],
      ] as const) {
        const outcome = send(body, event);
        assert.equal(outcome.created.length, 1);
        assert.notEqual(outcome.created[0].trigger, push);
        // False, not an error: the listener logs no CEL error for every merge request event.
        assert.equal(outcome.stopped[push], "cel: filter false", event);
        // Neither is a comment event to the merge request Trigger, nor the other way round.
        const other = event === NOTE_EVENT_TYPE ? mrTrigger : noteTrigger;
        assert.equal(outcome.stopped[other], "cel: filter false", event);
      }
    });

    it("the merge request Triggers never fire for a push", () => {
      const body = pushPayload();
      body.project.path_with_namespace = app.sourceProject;
      body.ref = `refs/heads/${app.branch}`;
      const outcome = send(body, PUSH_EVENT_TYPE);
      assert.deepEqual(
        outcome.created.map((c) => [c.trigger, c.run.spec.pipelineRef.name]),
        [[`${app.namespace}/${triggerNames(app).trigger}`, `build-${app.name}`]],
      );
      // False, not an evaluation error: the listener logs no CEL error for every push (cel-go's
      // && is false when any side is false, whatever the other side does).
      assert.equal(outcome.stopped[mrTrigger], "cel: filter false");
      assert.equal(outcome.stopped[noteTrigger], "cel: filter false");
      // Even sent as a merge request or comment event, a push payload builds nothing.
      assertNothing(send(body, MERGE_REQUEST_EVENT_TYPE), "push as Merge Request Hook");
      assertNothing(send(body, NOTE_EVENT_TYPE), "push as Note Hook");
    });
  });
});
