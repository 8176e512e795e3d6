import * as assert from "node:assert/strict";
import {
  ProjectHookInputs,
  ProjectHookOutputs,
  ProjectHookProvider,
  WithoutNoteEvents,
} from "../../components/gitlab/projectHook";
import { UNKNOWN } from "../../components/gitlab/shared";
import { FakeGitLab } from "./fakeGitLab";
import {
  HOOK_TOKEN,
  HOOK_URL,
  assertDeleteOfGoneIsDone,
  assertStructEncodable,
  checkAndCreate,
  fakeGitLabPerTest,
  hookInputs,
  rejection,
} from "./helpers";

const PROJECT = "root/hello-python";
const URL_A = HOOK_URL;
const inputs = (overrides: Partial<ProjectHookInputs> = {}) => hookInputs(PROJECT, overrides);

/** A hook's state or inputs as written before issue 21 added noteEvents. */
function beforeIssue21<T extends { noteEvents: boolean }>(value: T): WithoutNoteEvents<T> {
  const copy: WithoutNoteEvents<T> = { ...value };
  delete copy.noteEvents;
  assert.equal("noteEvents" in copy, false);
  return copy;
}

describe("gitlab ProjectHook provider", function () {
  let fake: FakeGitLab;
  let provider: ProjectHookProvider;
  fakeGitLabPerTest(PROJECT, (started, options) => {
    fake = started;
    provider = new ProjectHookProvider(options);
  });

  const create = (overrides: Partial<ProjectHookInputs> = {}) =>
    checkAndCreate(provider, inputs(overrides));

  describe("check", () => {
    it("applies @pulumi/gitlab's defaults", async () => {
      const result = await provider.check({}, { project: PROJECT, url: URL_A });
      assert.deepEqual(result.failures, []);
      assert.deepEqual(result.inputs, {
        project: PROJECT,
        url: URL_A,
        pushEvents: true,
        enableSslVerification: true,
        mergeRequestsEvents: false,
        noteEvents: false,
        tagPushEvents: false,
      });
      assertStructEncodable(result.inputs);
    });

    it("refuses a noteEvents that is not true or false", async () => {
      const result = await provider.check({}, { project: PROJECT, url: URL_A, noteEvents: "yes" });
      assert.deepEqual(
        result.failures!.map((f) => f.property),
        ["noteEvents"],
      );
      assert.match(result.failures![0].reason, /noteEvents must be true or false/);
    });

    it("names each bad argument", async () => {
      const result = await provider.check(
        {},
        { project: "", url: "tekton.example.com/hook", token: 42, tagPushEvents: "no" },
      );
      const byProperty = Object.fromEntries(result.failures!.map((f) => [f.property, f.reason]));
      assert.match(byProperty.project, /project must be the project's full path/);
      assert.match(byProperty.url, /url must be an absolute http\(s\) URL/);
      assert.match(byProperty.token, /token must be a string/);
      assert.match(byProperty.tagPushEvents, /tagPushEvents must be true or false/);
    });

    it("skips values not known yet (preview)", async () => {
      const result = await provider.check({}, { project: PROJECT, url: UNKNOWN, token: UNKNOWN });
      assert.deepEqual(result.failures, []);
    });
  });

  describe("diff", () => {
    const olds: ProjectHookOutputs = { ...inputs(), hookId: 3 };
    const cases: [keyof ProjectHookInputs, unknown, boolean][] = [
      // argument, new value, replaces
      ["project", "group/other", true],
      ["url", "https://tekton.example.com/hooks/other", true],
      ["token", "rotated-secret", false],
      ["pushEvents", false, false],
      ["pushEventsBranchFilter", "main", false],
      ["enableSslVerification", false, false],
      ["mergeRequestsEvents", true, false],
      ["noteEvents", true, false],
      ["tagPushEvents", true, false],
    ];
    for (const [argument, value, replaces] of cases) {
      it(`${argument}: ${replaces ? "replaces" : "updates in place"}`, async () => {
        const diff = await provider.diff("x:3", olds, inputs({ [argument]: value }));
        assert.equal(diff.changes, true);
        assert.deepEqual(diff.replaces, replaces ? [argument] : []);
      });
    }

    it("sees no change when nothing changed, an unset filter equals an empty one", async () => {
      assert.equal((await provider.diff("x:3", olds, inputs())).changes, false);
      const emptyFilter = inputs({ pushEventsBranchFilter: "" });
      assert.equal((await provider.diff("x:3", olds, emptyFilter)).changes, false);
    });

    it("sees no change for a hook whose state predates noteEvents (issue 21)", async () => {
      // Outputs written before the argument existed, against today's inputs with and without
      // the default `check` applies: the hook already has GitLab's default (false).
      const before = beforeIssue21(olds);
      const checked = await provider.check({}, { project: PROJECT, url: URL_A, token: HOOK_TOKEN });
      const news = checked.inputs as ProjectHookInputs;
      assert.equal(news.noteEvents, false);
      const diff = await provider.diff("x:3", before, news);
      assert.deepEqual([diff.changes, diff.replaces], [false, []]);
      assert.equal((await provider.diff("x:3", before, beforeIssue21(news))).changes, false);
    });

    it("updates such a hook in place when noteEvents turns true (issue 21)", async () => {
      const before = beforeIssue21(olds);
      const news = inputs({ mergeRequestsEvents: true, noteEvents: true });
      const diff = await provider.diff("x:3", before, news);
      assert.deepEqual([diff.changes, diff.replaces], [true, []]);
      assert.notEqual(diff.deleteBeforeReplace, true);
    });

    it("sees removing the token as a change", async () => {
      const diff = await provider.diff("x:3", olds, inputs({ token: undefined }));
      assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    });
  });

  describe("create / read / update / delete", () => {
    it("round-trips, keeping the write-only token from the state", async () => {
      const { id, outs } = await create({ pushEventsBranchFilter: "main" });
      const [hook] = fake.hooksOf(PROJECT);
      assert.equal(id, `${PROJECT}:${hook.id}`);
      assert.equal(outs.hookId, hook.id);
      assert.equal(outs.token, HOOK_TOKEN);
      assert.equal(fake.hookToken(PROJECT, outs.hookId), HOOK_TOKEN);
      const { name, description, ...sent } = fake.requestsOf("POST")[0].body;
      assert.deepEqual(sent, {
        url: URL_A,
        token: HOOK_TOKEN,
        push_events: true,
        push_events_branch_filter: "main",
        enable_ssl_verification: true,
        merge_requests_events: false,
        note_events: false,
        tag_push_events: false,
      });
      // Marks the hook as this stack's (issue 11): found again if the answer is lost.
      assert.equal(name, "Tekton (managed by Pulumi)");
      assert.match(description, / pulumi-create-[0-9a-f]{16}$/);

      const read = await provider.read(id, outs);
      assert.deepEqual(read, { id, props: outs }, "GitLab never returns the token; state keeps it");

      const news = inputs({ pushEventsBranchFilter: "main", mergeRequestsEvents: true });
      const updated = await provider.update(id, outs, news);
      assertStructEncodable(updated.outs);
      assert.equal(updated.outs!.mergeRequestsEvents, true);
      assert.equal(updated.outs!.token, HOOK_TOKEN);
      const [put] = fake.requestsOf("PUT");
      assert.equal(put.body.token, HOOK_TOKEN, "every update resends the token");
      assert.equal(put.body.url, URL_A);
      assert.equal(fake.hookToken(PROJECT, outs.hookId), HOOK_TOKEN);

      await provider.delete(id);
      assert.deepEqual(fake.hooksOf(PROJECT), []);
    });

    it("creates a hook subscribed to comments when noteEvents is true (issue 21)", async () => {
      const { outs } = await create({ mergeRequestsEvents: true, noteEvents: true });
      assert.equal(fake.requestsOf("POST")[0].body.note_events, true);
      const [hook] = fake.hooksOf(PROJECT);
      assert.equal(hook.note_events, true);
      assert.equal(hook.merge_requests_events, true);
      assert.equal(outs.noteEvents, true);
    });

    it("turns noteEvents on for a hook created before it existed: one PUT, same hook, same token (issue 21)", async () => {
      const { id, outs } = await create();
      // The state of a hook created before noteEvents: no such output.
      const before = beforeIssue21(outs);
      const news = (
        await provider.check(before, {
          ...inputs({ mergeRequestsEvents: true }),
          noteEvents: true,
        })
      ).inputs as ProjectHookInputs;
      const diff = await provider.diff(id, before, news);
      assert.deepEqual([diff.changes, diff.replaces], [true, []]);

      const requestsBefore = fake.requests.length;
      const updated = await provider.update(id, before, news);
      const sent = fake.requests.slice(requestsBefore);
      assert.deepEqual(
        sent.map((r) => r.method),
        ["PUT"],
        "an update in place: no POST, no DELETE",
      );
      assert.equal(sent[0].body.note_events, true);
      assert.equal(sent[0].body.merge_requests_events, true);
      assert.equal(sent[0].body.token, HOOK_TOKEN, "every update resends the token");
      assert.equal(sent[0].body.url, URL_A);

      const [hook] = fake.hooksOf(PROJECT);
      assert.equal(hook.id, outs.hookId, "the same hook");
      assert.equal(hook.note_events, true);
      assert.equal(fake.hookToken(PROJECT, outs.hookId), HOOK_TOKEN, "GitLab keeps the token");
      assertStructEncodable(updated.outs);
      assert.equal(updated.outs!.noteEvents, true);
      assert.equal(updated.outs!.token, HOOK_TOKEN);

      // Converged: a refresh reads it back and the next up sees nothing to do.
      const read = await provider.read(id, updated.outs);
      assert.equal(read.props!.noteEvents, true);
      assert.equal((await provider.diff(id, read.props!, news)).changes, false);
    });

    it("read reports note_events as GitLab has it, and a change by hand shows as a diff", async () => {
      const { id, outs } = await create();
      const read = await provider.read(id, outs);
      assert.equal(read.props!.noteEvents, false);
      fake.editHookByHand(PROJECT, outs.hookId, { note_events: true });
      const edited = await provider.read(id, outs);
      assert.equal(edited.props!.noteEvents, true);
      const diff = await provider.diff(id, edited.props!, inputs());
      assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    });

    it("refresh of a hook whose state predates noteEvents adds nothing while GitLab has the default (issue 21)", async () => {
      const { id, outs } = await create();
      const before = beforeIssue21(outs);
      const read = await provider.read(id, before);
      assert.deepEqual(read, { id, props: before }, "refresh shows no change");
      fake.editHookByHand(PROJECT, outs.hookId, { note_events: true });
      const edited = await provider.read(id, before);
      assert.equal(edited.props!.noteEvents, true, "turned on by hand: shown");
      const diff = await provider.diff(id, edited.props!, inputs());
      assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    });

    it("update rotates the token and removing it clears GitLab's copy", async () => {
      const { id, outs } = await create();
      await provider.update(id, outs, inputs({ token: "rotated" }));
      assert.equal(fake.hookToken(PROJECT, outs.hookId), "rotated");
      const cleared = await provider.update(id, outs, inputs({ token: undefined }));
      assert.equal(fake.hookToken(PROJECT, outs.hookId), "");
      assert.equal("token" in cleared.outs!, false);
    });

    it("update with a URL that GitLab erases the token for still keeps it (sent again)", async () => {
      // Not a path the diff takes (url replaces), but the request shape guards the trap.
      const { id, outs } = await create();
      await provider.update(id, outs, inputs({ url: "https://tekton.example.com/hooks/moved" }));
      assert.equal(fake.hookToken(PROJECT, outs.hookId), HOOK_TOKEN);
    });

    it("read notices changes by hand and a hook removed by hand", async () => {
      const { id, outs } = await create();
      fake.editHookByHand(PROJECT, outs.hookId, { push_events: false });
      const edited = await provider.read(id, outs);
      assert.equal(edited.props!.pushEvents, false);
      const pushDiff = await provider.diff(id, edited.props!, inputs());
      assert.deepEqual([pushDiff.changes, pushDiff.replaces], [true, []]);

      fake.editHookByHand(PROJECT, outs.hookId, { url: "https://elsewhere.example.com/" });
      const moved = await provider.read(id, outs);
      assert.equal(moved.props!.url, "https://elsewhere.example.com/");
      assert.equal(moved.props!.token, HOOK_TOKEN);
      const urlDiff = await provider.diff(id, moved.props!, inputs());
      assert.deepEqual(urlDiff.replaces, ["url"]);

      fake.removeHookByHand(PROJECT, outs.hookId);
      const gone = await provider.read(id, outs);
      assert.equal(gone.id, "");
    });

    it("treats 404 for the hook itself (project still there) as already gone", async () => {
      const created = await create();
      fake.removeHookByHand(PROJECT, created.outs.hookId);
      await assertDeleteOfGoneIsDone(fake, provider, created, "404 Not found");
    });

    it("a missing project is not 'already gone': delete and refresh fail, the hook stays", async () => {
      const { id, outs } = await create();
      fake.hideProject(PROJECT);
      const error = await rejection(
        provider.delete(id),
        fake.token,
        new RegExp(`delete hook ${outs.hookId} of project "root/hello-python"`),
        /404 Project Not Found/,
        /Project "root\/hello-python" was not found or is not visible to the token/,
        /\(and hook \d+ with it\), run `pulumi state delete <urn>`/,
      );
      assert.equal(error.status, 404);
      await rejection(
        provider.read(id, outs),
        fake.token,
        /Project "root\/hello-python" was not found or is not visible to the token/,
      );
      assert.equal(fake.hooksOf(PROJECT).length, 1);
      assert.ok(!error.message.includes(HOOK_TOKEN));
    });

    it("explains the local-network 422 without showing the hook token", async () => {
      const error = await rejection(
        provider.create(inputs({ url: "http://el-listener.tekton.svc.cluster.local:8080" })),
        fake.token,
        /create a hook on project "root\/hello-python"/,
        /422 Unprocessable Entity: Invalid url given/,
        /"Allow requests to the local network from webhooks and integrations"/,
      );
      assert.ok(!error.message.includes(HOOK_TOKEN));
    });

    it("never retries a create after 5xx (no duplicate hook)", async () => {
      fake.inject({ method: "POST", status: 502, body: "<html>Bad Gateway</html>" });
      await rejection(provider.create(inputs()), fake.token, /502 Bad Gateway/);
      assert.equal(fake.requestsOf("POST").length, 1);
    });

    it("retries reads and updates after 5xx", async () => {
      const { id, outs } = await create();
      fake.inject({ method: "GET", status: 500, body: { message: "500" } });
      fake.inject({ method: "PUT", status: 503, body: { message: "503" } });
      await provider.read(id, outs);
      await provider.update(id, outs, inputs({ tagPushEvents: true }));
      assert.equal(fake.requestsOf("GET").length, 2);
      assert.equal(fake.requestsOf("PUT").length, 2);
    });
  });
});
