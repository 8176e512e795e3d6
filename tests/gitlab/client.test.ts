import * as assert from "node:assert/strict";
import * as util from "node:util";
import { GitLabClient, normalizeBaseUrl, projectSegment } from "../../components/gitlab/client";
import {
  GitLabApiError,
  describeAnswer,
  isGitLabApiError,
  isGone,
  notFoundSubjectOf,
} from "../../components/gitlab/errors";
import { DEFAULT_RETRY_POLICY, decideRetry, requestedWaitMs } from "../../components/gitlab/retry";
import { FakeGitLab, fakePublicKey, sha256Fingerprint } from "./fakeGitLab";
import { assertNoToken, clientFor, fakeGitLabPerTest, rejection, seen } from "./helpers";

const PROJECT = "root/hello-python";

describe("gitlab client", function () {
  let fake: FakeGitLab;
  fakeGitLabPerTest(PROJECT, (started) => (fake = started));

  describe("addressing", () => {
    it("normalises the base URL with or without /api/v4 and trailing slashes", () => {
      for (const raw of [
        "https://gitlab.example.com",
        "https://gitlab.example.com/",
        "https://gitlab.example.com/api/v4",
        "https://gitlab.example.com/api/v4/",
        " https://gitlab.example.com//api/v4// ",
      ]) {
        assert.equal(normalizeBaseUrl(raw), "https://gitlab.example.com/api/v4", raw);
      }
      assert.equal(
        normalizeBaseUrl("https://example.com/gitlab/"),
        "https://example.com/gitlab/api/v4",
      );
    });

    it("rejects base URLs that are not an http(s) instance URL, naming gitlab:baseUrl", () => {
      assert.throws(() => normalizeBaseUrl("gitlab.example.com"), /gitlab:baseUrl must be/);
      assert.throws(() => normalizeBaseUrl("ftp://gitlab.example.com"), /gitlab:baseUrl.*http/);
      assert.throws(
        () => normalizeBaseUrl("https://user:pw@gitlab.example.com"),
        /gitlab:baseUrl must not contain credentials/,
      );
    });

    it("URL-encodes project paths and sends PRIVATE-TOKEN", async () => {
      assert.equal(projectSegment("group/sub/app"), "group%2Fsub%2Fapp");
      assert.equal(projectSegment(42), "42");
      const { client } = clientFor(fake, { baseUrl: `${fake.url}/api/v4/` });
      await client.listDeployKeys(PROJECT);
      const [request] = fake.requests;
      assert.equal(request.rawPath, "/api/v4/projects/root%2Fhello-python/deploy_keys");
      assert.equal(request.headers["private-token"], fake.token);
      assert.equal(request.headers.authorization, undefined);
    });

    it("addresses a project by numeric id too", async () => {
      const id = fake.addProject("group/other");
      const { client } = clientFor(fake);
      await client.createHook(String(id), { url: "https://ci.example.com/hook" });
      assert.equal(fake.hooksOf("group/other").length, 1);
    });

    it("does not show the token when the client is inspected or serialised", () => {
      const { client } = clientFor(fake);
      assertNoToken(client, fake.token);
      assert.deepEqual(Object.keys(client).includes("token"), false);
    });
  });

  describe("deploy keys", () => {
    it("creates, reads, lists, updates and deletes", async () => {
      const { client } = clientFor(fake);
      const key = fakePublicKey("crud");
      const created = await client.createDeployKey(PROJECT, {
        title: "tekton",
        key,
        can_push: false,
        expires_at: "2030-01-31",
      });
      assert.equal(created.title, "tekton");
      assert.equal(created.fingerprint_sha256, sha256Fingerprint(key));
      assert.equal(created.expires_at, "2030-01-31T00:00:00.000Z");
      const read = await client.getDeployKey(PROJECT, created.id);
      assert.equal(read.id, created.id);
      const updated = await client.updateDeployKey(PROJECT, created.id, {
        title: "renamed",
        can_push: true,
      });
      assert.equal(updated.title, "renamed");
      assert.equal(updated.can_push, true);
      assert.deepEqual(
        (await client.listDeployKeys(PROJECT)).map((k) => k.id),
        [created.id],
      );
      await client.deleteDeployKey(PROJECT, created.id);
      assert.deepEqual(await client.listDeployKeys(PROJECT), []);
    });

    it("gets the existing record back when creating a key already on the project", async () => {
      const { client } = clientFor(fake);
      const key = fakePublicKey("twice");
      const first = await client.createDeployKey(PROJECT, { title: "a", key });
      const second = await client.createDeployKey(PROJECT, { title: "b", key });
      assert.equal(second.id, first.id);
      assert.equal(second.title, "a");
      assert.equal(fake.deployKeysOf(PROJECT).length, 1);
    });

    it("explains a 400 duplicate fingerprint (key used where the token cannot see)", async () => {
      const key = fakePublicKey("foreign");
      fake.addForeignKey(key);
      const { client } = clientFor(fake);
      const error = await rejection(
        client.createDeployKey(PROJECT, { title: "dup", key }),
        fake.token,
        /answered 400 Bad Request: deploy_key\.fingerprint_sha256 has already been taken\./,
        /already a deploy key somewhere the token cannot see/,
      );
      assert.equal(error.status, 400);
    });
  });

  describe("project hooks", () => {
    it("creates, reads, updates and deletes; the token is sent but never returned", async () => {
      const { client } = clientFor(fake);
      const hook = await client.createHook(PROJECT, {
        url: "https://ci.example.com/hook",
        token: "hook-secret-1",
        push_events: true,
        push_events_branch_filter: "main",
      });
      assert.equal(fake.hookToken(PROJECT, hook.id), "hook-secret-1");
      assert.equal("token" in hook, false);
      assert.equal(hook.push_events_branch_filter, "main");
      const updated = await client.updateHook(PROJECT, hook.id, {
        url: "https://ci.example.com/hook",
        token: "hook-secret-1",
        tag_push_events: true,
      });
      assert.equal(updated.tag_push_events, true);
      assert.equal((await client.getHook(PROJECT, hook.id)).tag_push_events, true);
      await client.deleteHook(PROJECT, hook.id);
      assert.deepEqual(await client.listHooks(PROJECT), []);
    });

    it("note_events: false unless sent on create, changed only by a PUT that sends it (issue 21)", async () => {
      // GitLab's web_hooks column defaults to false, and a PUT applies only the declared params
      // it got (lib/api/helpers/web_hooks_helpers.rb `update_hook_params`,
      // `declared_params(include_missing: false)`).
      const { client } = clientFor(fake);
      const hook = await client.createHook(PROJECT, { url: "https://ci.example.com/hook" });
      assert.equal(hook.note_events, false);
      const on = await client.updateHook(PROJECT, hook.id, { note_events: true });
      assert.equal(on.note_events, true);
      const other = await client.updateHook(PROJECT, hook.id, { tag_push_events: true });
      assert.equal(other.note_events, true, "a PUT without note_events leaves it");
      assert.equal((await client.getHook(PROJECT, hook.id)).note_events, true);
    });

    it("follows x-next-page through every page, 100 per page", async () => {
      const { client } = clientFor(fake);
      for (let i = 0; i < 205; i++) {
        await client.createHook(PROJECT, { url: `https://ci.example.com/hook/${i}` });
      }
      fake.requests.length = 0;
      const hooks = await client.listHooks(PROJECT);
      assert.equal(hooks.length, 205);
      assert.equal(new Set(hooks.map((h) => h.id)).size, 205);
      assert.deepEqual(
        fake.requests.map((r) => [r.query.page, r.query.per_page]),
        [
          ["1", "100"],
          ["2", "100"],
          ["3", "100"],
        ],
      );
    });

    it("explains a 422 on a local-network URL with the admin setting to change", async () => {
      const { client } = clientFor(fake);
      const error = await rejection(
        client.createHook(PROJECT, {
          url: "http://el-gitlab-listener.tekton.svc.cluster.local:8080",
          token: "hook-secret-2",
        }),
        fake.token,
        /answered 422 Unprocessable Entity: Invalid url given\./,
        /Allow requests to the local network from webhooks and integrations/,
        /el-gitlab-listener\.tekton\.svc\.cluster\.local/,
      );
      assert.ok(!error.message.includes("hook-secret-2"));
      fake.allowLocalNetwork = true;
      await client.createHook(PROJECT, {
        url: "http://el-gitlab-listener.tekton.svc.cluster.local:8080",
      });
    });
  });

  describe("errors say what to do", () => {
    it("401 points at gitlab:token", async () => {
      const client = new GitLabClient({ baseUrl: fake.url, token: "glpat-wrong-token" });
      const error = await rejection(
        client.listHooks(PROJECT),
        "glpat-wrong-token",
        /answered 401 Unauthorized\. GitLab did not accept the token: check gitlab:token \(or GITLAB_TOKEN\)/,
      );
      assert.doesNotMatch(error.message, /401 401/, "the status is said once");
      assert.ok(isGitLabApiError(error));
      assert.equal(error.status, 401);
    });

    it("403 names the project and the Maintainer role", async () => {
      fake.addProject("group/locked", { maintainer: false });
      const { client } = clientFor(fake);
      await rejection(
        client.createDeployKey("group/locked", { title: "t", key: fakePublicKey("x") }),
        fake.token,
        /answered 403 Forbidden\. The token needs/,
        /needs the Maintainer role on project "group\/locked"/,
      );
    });

    it("404 on the project says not found or not visible to the token", async () => {
      const { client } = clientFor(fake);
      const error = await rejection(
        client.listDeployKeys("group/missing"),
        fake.token,
        /answered 404 Project Not Found\./,
        /Project "group\/missing" was not found or is not visible to the token/,
        /gitlab:baseUrl is the instance that hosts it/,
      );
      assert.equal((error as GitLabApiError).notFound, "project");
      assert.equal(isGone(error), false);
      assert.doesNotMatch(error.message, /pulumi state delete/, "a list manages no object");
    });

    it("404 on the project of a key or hook is not 'gone' and says when to forget it", async () => {
      const { client } = clientFor(fake);
      for (const call of [
        client.getDeployKey("group/missing", 7),
        client.deleteDeployKey("group/missing", 7),
        client.deleteHook("group/missing", 3),
      ]) {
        const error = await rejection(
          call,
          fake.token,
          /Project "group\/missing" was not found or is not visible to the token/,
          /Only if the project itself was deleted \(and (deploy key 7|hook 3) with it\), run `pulumi state delete <urn>`/,
        );
        assert.equal(isGone(error), false);
      }
    });

    it("404 on a key or hook of an existing project says it no longer exists", async () => {
      const { client } = clientFor(fake);
      const read = await rejection(
        client.getDeployKey(PROJECT, 999),
        fake.token,
        /read deploy key 999 of project "root\/hello-python"/,
        /answered 404 Not found\./,
        /The deploy key 999 no longer exists on project "root\/hello-python"/,
      );
      assert.equal(read.status, 404);
      assert.equal(isGone(read), true);
      const removal = await rejection(
        client.deleteDeployKey(PROJECT, 999),
        fake.token,
        /answered 404 Deploy key Not Found\./,
      );
      assert.equal(isGone(removal), true);
      const hook = await rejection(
        client.updateHook(PROJECT, 5, { url: "https://ci.example.com/hook" }),
        fake.token,
        /The hook 5 no longer exists .*`pulumi refresh` drops it/,
      );
      assert.equal(isGone(hook), true);
    });

    it("a 404 that is not GitLab's API answer (wrong gitlab:baseUrl) is not 'gone'", async () => {
      // A sub-path GitLab does not serve: Grape answers {"error":"404 Not Found"}.
      const { client } = clientFor(fake, { baseUrl: `${fake.url}/gitlab` });
      const created = await clientFor(fake).client.createHook(PROJECT, {
        url: "https://ci.example.com/hook",
      });
      const grape = await rejection(
        client.deleteHook(PROJECT, created.id),
        fake.token,
        /answered 404 Not Found\./,
        /check gitlab:baseUrl \(or GITLAB_BASE_URL\) is the GitLab instance URL/,
      );
      assert.equal(isGone(grape), false);
      // A proxy's HTML page.
      fake.inject({ status: 404, body: "<html>nginx</html>" });
      const proxy = await rejection(
        client.getHook(PROJECT, created.id),
        fake.token,
        /404 Not Found/,
      );
      assert.equal(isGone(proxy), false);
      assert.equal(fake.hooksOf(PROJECT).length, 1, "nothing was deleted");
    });

    it("classifies GitLab's 404 bodies by what they say is missing", () => {
      const json = "application/json";
      const cases: [string, string, string][] = [
        ['{"message":"404 Project Not Found"}', json, "project"],
        ['{"message":"404 Not found"}', json, "object"],
        ['{"message":"404 Deploy key Not Found"}', json, "object"],
        ['{"message":"404 Deploy Key Not Found"}', json, "object"],
        ['{"message":"404 Hook Not Found"}', json, "object"],
        ['{"message":"404 Project hook Not Found"}', json, "object"],
        // lib/api/resource_access_tokens.rb: not_found!("#{source_type} Access Token").
        ['{"message":"404 project Access Token Not Found"}', json, "object"],
        ['{"error":"404 Not Found"}', json, "unknown"],
        ['{"message":"404 Group Not Found"}', json, "unknown"],
        ["<html>404 Not found</html>", "text/html", "unknown"],
        ["not json", json, "unknown"],
      ];
      for (const [body, type, subject] of cases) {
        assert.equal(notFoundSubjectOf(body, type), subject, body);
      }
    });

    it("says the status once, with GitLab's words after it when they add something", () => {
      assert.equal(describeAnswer(401, "Unauthorized", "401 Unauthorized"), "401 Unauthorized");
      assert.equal(describeAnswer(502, "Bad Gateway", "Bad Gateway"), "502 Bad Gateway");
      assert.equal(
        describeAnswer(422, "Unprocessable Entity", "Invalid url given"),
        "422 Unprocessable Entity: Invalid url given",
      );
      assert.equal(describeAnswer(429, "", "Retry later."), "429: Retry later");
      assert.equal(describeAnswer(500, "", ""), "500");
    });

    it("redacts the token even when GitLab's answer echoes it", async () => {
      fake.inject({ status: 400, body: { message: `bad header ${fake.token}` } });
      const { client } = clientFor(fake);
      const error = await rejection(client.listHooks(PROJECT), fake.token, /\[redacted\]/);
      assert.equal(error.status, 400);
    });

    it("names the base URL and config key when GitLab cannot be reached", async () => {
      const gone = await FakeGitLab.start();
      const url = gone.url;
      await gone.close();
      const { client, recorder } = clientFor(fake, {
        baseUrl: url,
        retry: { maxAttempts: 2 },
      });
      const error = await rejection(
        client.getHook(PROJECT, 1),
        fake.token,
        /no answer from http:\/\/127\.0\.0\.1:\d+\/api\/v4 after 2 attempts/,
        /gitlab:baseUrl/,
      );
      assert.equal(error.name, "GitLabNetworkError");
      assert.equal(recorder.sleeps.length, 1, "a GET without answer is retried");
      const post = clientFor(fake, { baseUrl: url, retry: { maxAttempts: 2 } });
      await rejection(post.client.createHook(PROJECT, { url: "https://x.example" }), fake.token);
      assert.deepEqual(post.recorder.sleeps, [], "a POST without answer is not retried");
    });
  });

  describe("retries", () => {
    it("honours Retry-After on 429, for POST too (nothing was created)", async () => {
      fake.inject({
        method: "POST",
        status: 429,
        body: { message: "Retry later" },
        headers: { "Retry-After": "7" },
      });
      const { client, recorder } = clientFor(fake);
      await client.createHook(PROJECT, { url: "https://ci.example.com/hook" });
      assert.deepEqual(recorder.sleeps, [7000]);
      assert.equal(fake.requestsOf("POST").length, 2);
      assert.equal(fake.hooksOf(PROJECT).length, 1);
      assert.match(recorder.logs[0], /POST .*rate limited; retrying in 7\.0s \(attempt 2 of 6\)/);
    });

    it("uses RateLimit-Reset when there is no Retry-After", async () => {
      const now = Date.parse("2030-01-01T00:00:00Z");
      fake.inject({
        status: 429,
        body: { message: "Retry later" },
        headers: { "RateLimit-Reset": String(now / 1000 + 12) },
      });
      const { client, recorder } = clientFor(fake, { now: () => now });
      await client.listHooks(PROJECT);
      assert.deepEqual(recorder.sleeps, [12_000]);
    });

    it("backs off exponentially with jitter when GitLab gives no wait", async () => {
      fake.inject({ status: 429, body: { message: "Retry later" }, times: 3 });
      const { client, recorder } = clientFor(fake);
      await client.listDeployKeys(PROJECT);
      // Equal jitter with random() = 0.5: 3/4 of 1s, 2s, 4s.
      assert.deepEqual(recorder.sleeps, [750, 1500, 3000]);
    });

    it("caps one backoff step and draws the jitter from random()", () => {
      const policy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 20 };
      const at = (attempt: number, r: number) =>
        decideRetry({
          method: "GET",
          status: 503,
          attempt,
          waitedMs: 0,
          policy,
          nowMs: 0,
          random: () => r,
        });
      assert.deepEqual(at(10, 0), { retry: true, delayMs: 15_000, reason: "server error 503" });
      assert.deepEqual(at(10, 0.999999), {
        retry: true,
        delayMs: 30_000,
        reason: "server error 503",
      });
      assert.deepEqual(at(1, 0), { retry: true, delayMs: 500, reason: "server error 503" });
    });

    it("reads Retry-After given as an HTTP date", () => {
      const now = Date.parse("2030-01-01T00:00:00Z");
      const headers = new Headers({ "Retry-After": "Tue, 01 Jan 2030 00:00:30 GMT" });
      assert.equal(requestedWaitMs(headers, now), 30_000);
    });

    for (const [method, status] of [
      ["GET", 502],
      ["PUT", 500],
      ["DELETE", 503],
    ] as const) {
      it(`retries ${method} after ${status}`, async () => {
        const { client, recorder } = clientFor(fake);
        const hook = await client.createHook(PROJECT, { url: "https://ci.example.com/hook" });
        fake.inject({ method, status, body: { message: `${status} oops` } });
        fake.requests.length = 0;
        if (method === "GET") await client.getHook(PROJECT, hook.id);
        if (method === "PUT") {
          await client.updateHook(PROJECT, hook.id, { url: "https://ci.example.com/hook" });
        }
        if (method === "DELETE") await client.deleteHook(PROJECT, hook.id);
        assert.equal(fake.requestsOf(method).length, 2);
        assert.deepEqual(recorder.sleeps, [750]);
      });
    }

    it("never retries a POST after 5xx (it may have created the hook)", async () => {
      fake.inject({ method: "POST", status: 500, body: { message: "500 Internal Server Error" } });
      const { client, recorder } = clientFor(fake);
      const error = await rejection(
        client.createHook(PROJECT, { url: "https://ci.example.com/hook" }),
        fake.token,
        /answered 500 Internal Server Error\. GitLab, or a proxy in front of it, failed after/,
      );
      // Not "try again later": the POST may have been applied (issue 11, defect 6).
      assert.doesNotMatch(error.message, /try again/);
      assert.equal((error as { ambiguous?: boolean }).ambiguous, true);
      assert.equal(error.status, 500);
      assert.equal(fake.requestsOf("POST").length, 1);
      assert.deepEqual(recorder.sleeps, []);
    });

    it("gives up after maxAttempts and says how often it tried", async () => {
      fake.inject({ status: 502, body: "<html>Bad Gateway</html>", times: 10 });
      const { client, recorder } = clientFor(fake, { retry: { maxAttempts: 3 } });
      await rejection(client.getHook(PROJECT, 1), fake.token, /502 Bad Gateway after 3 attempts/);
      assert.equal(fake.requests.length, 3);
      assert.equal(recorder.sleeps.length, 2);
    });

    it("does not start a wait that would exceed the total retry budget", async () => {
      fake.inject({
        status: 429,
        body: { message: "Retry later" },
        headers: { "Retry-After": "600" },
      });
      const { client, recorder } = clientFor(fake);
      const error = await rejection(
        client.listHooks(PROJECT),
        fake.token,
        /answered 429 Too Many Requests: Retry later\. GitLab kept rate-limiting/,
      );
      assert.equal(error.status, 429);
      assert.deepEqual(recorder.sleeps, []);
      assert.equal(fake.requests.length, 1);
    });

    it("sleeps for real, scaled down, when no sleep function is injected", async () => {
      fake.inject({ status: 429, body: { message: "slow down" }, headers: { "Retry-After": "2" } });
      const logs: string[] = [];
      const client = new GitLabClient({
        baseUrl: fake.url,
        token: fake.token,
        delayScale: 0.001,
        log: (line) => logs.push(line),
      });
      await client.listHooks(PROJECT);
      assert.equal(fake.requests.length, 2);
      assert.match(logs[0], /retrying in 2\.0s/);
      seen.logs.push(...logs);
    });
  });

  it("keeps the token out of inspected errors", async () => {
    const { client } = clientFor(fake);
    const error = await rejection(client.getHook("group/missing", 1), fake.token);
    assert.ok(!util.inspect(error, { showHidden: true }).includes(fake.token));
  });
});
