// Issue 11: lost answers, redirects, proxies and private CAs. Each write below is applied by
// the fake and then answered with nothing, a 5xx or a redirect, the way a proxy in front of
// GitLab can; the providers must find out what GitLab did instead of failing blind or
// sending the POST again.
import * as assert from "node:assert/strict";
import { makeTestCa, removeTestCa, serverTls } from "../harness/testCa";
import * as http from "node:http";
import * as path from "node:path";
import { AddressInfo } from "node:net";
import { DeployKeyInputs, DeployKeyProvider } from "../../components/gitlab/deployKey";
import { ProjectHookInputs, ProjectHookProvider } from "../../components/gitlab/projectHook";
import { keyFingerprintSha256 } from "../../components/gitlab/shared";
import { FakeGitLab, fakePublicKey, sha256Fingerprint } from "./fakeGitLab";
import {
  HOOK_TOKEN,
  HOOK_URL,
  PROXY_FAULTS,
  assertNoToken,
  checkAndCreate,
  hookInputs,
  providerOptionsFor,
  rejection,
  seen,
} from "./helpers";

// The Config object the Node.js dynamic provider host hands to `configure`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Config } = require("@pulumi/pulumi/cmd/dynamic-provider/config");

const PROJECT = "root/hello-python";
const KEY = fakePublicKey("faults");
const inputsOfHook = (overrides: Partial<ProjectHookInputs> = {}) => hookInputs(PROJECT, overrides);

function keyInputs(overrides: Partial<DeployKeyInputs> = {}): DeployKeyInputs {
  return { project: PROJECT, title: "tekton", key: KEY, canPush: true, ...overrides };
}

/** The faults a proxy can turn a successful write into. */
const LOST_ANSWERS = [
  ...PROXY_FAULTS,
  { label: "504", fault: { status: 504, body: "<html>Gateway Timeout</html>" } },
] as const;

describe("gitlab providers after lost answers, redirects and proxies (issue 11)", function () {
  let fake: FakeGitLab;
  let hooks: ProjectHookProvider;
  let keys: DeployKeyProvider;
  let logs: string[];

  async function start(options: { legacyHooks?: boolean } = {}) {
    fake = await FakeGitLab.start(undefined, options);
    fake.addProject(PROJECT);
    const hookOptions = providerOptionsFor(fake);
    logs = hookOptions.recorder.logs;
    hooks = new ProjectHookProvider(hookOptions);
    keys = new DeployKeyProvider(providerOptionsFor(fake));
  }

  afterEach(async () => {
    await fake?.close();
  });

  after(() => {
    for (const error of seen.errors) assertNoToken(error, "glpat-fake-TOKEN-0123456789");
  });

  describe("defect 1: a hook create whose answer is lost", () => {
    beforeEach(() => start());

    for (const { label, fault } of LOST_ANSWERS) {
      it(`adopts the hook GitLab created when the POST got ${label}; never POSTs again`, async () => {
        fake.inject({ method: "POST", pathIncludes: "/hooks", apply: true, ...fault });
        const { id, outs } = await checkAndCreate(hooks, inputsOfHook());
        const inGitLab = fake.hooksOf(PROJECT);
        assert.equal(inGitLab.length, 1, "exactly one hook in GitLab");
        assert.equal(id, `${PROJECT}:${inGitLab[0].id}`);
        assert.equal((outs as { hookId: number }).hookId, inGitLab[0].id);
        assert.equal(fake.requestsOf("POST").length, 1, "the POST is never sent twice");
        assert.equal(fake.requestsOf("GET", "/hooks").length, 1, "one list to find out");
        assert.equal(fake.hookToken(PROJECT, inGitLab[0].id as number), HOOK_TOKEN);
      });
    }

    it("marks the hooks it creates, so a lost answer is matched by marker", async () => {
      await checkAndCreate(hooks, inputsOfHook());
      const [hook] = fake.hooksOf(PROJECT);
      assert.match(String(hook.name), /Pulumi/);
      assert.match(String(hook.description), /pulumi-create-[0-9a-f]{16}/);
      // 1 request per create when nothing goes wrong.
      assert.equal(fake.requests.length, 1);
    });

    it("does not adopt someone else's hook with the same URL; says nothing was created", async () => {
      const theirs = fake.addHookByHand(PROJECT, HOOK_URL, { name: "by hand" });
      fake.inject({ method: "POST", pathIncludes: "/hooks", status: 502, body: "<html/>" });
      const error = await rejection(
        hooks.create(inputsOfHook()),
        fake.token,
        /GitLab did not create it/,
        /no hook carries this create's marker/,
      );
      assert.doesNotMatch(error.message, /run .*again.*duplicate/);
      assert.doesNotMatch(error.message, /try again later/);
      assert.deepEqual(
        fake.hooksOf(PROJECT).map((h) => h.id),
        [theirs],
      );
      assert.equal(fake.requestsOf("POST").length, 1);
    });

    it("when GitLab cannot be asked either, says the hook may exist and what was done", async () => {
      fake.inject({ method: "POST", pathIncludes: "/hooks", apply: true, drop: true, status: 0 });
      fake.inject({
        method: "GET",
        pathIncludes: "/hooks",
        status: 502,
        body: "<html/>",
        times: 12,
      });
      await rejection(
        hooks.create(inputsOfHook()),
        fake.token,
        /may exist/,
        /not sent again/,
        /list hooks/,
        /Settings > Webhooks/,
      );
      assert.equal(fake.requestsOf("POST").length, 1);
    });
  });

  describe("defect 1 on GitLab before 17.1 (hooks without name/description)", () => {
    beforeEach(() => start({ legacyHooks: true }));

    it("adopts the one hook with the same URL and settings, and says so", async () => {
      fake.inject({ method: "POST", pathIncludes: "/hooks", apply: true, status: 504 });
      const { id } = await checkAndCreate(hooks, inputsOfHook());
      const [hook] = fake.hooksOf(PROJECT);
      assert.equal(id, `${PROJECT}:${hook.id}`);
      assert.ok(logs.some((line) => /no name\/description.*adopted hook/i.test(line)));
    });

    it("tells hooks apart by note_events too: adopts the one subscribed to comments (issue 21)", async () => {
      // Same URL, push settings and token as ours, but no comment events: not this create's.
      const theirs = fake.addHookByHand(PROJECT, HOOK_URL, { token: HOOK_TOKEN });
      fake.inject({ method: "POST", pathIncludes: "/hooks", apply: true, status: 504 });
      const wanted = inputsOfHook({ noteEvents: true });
      const { id, outs } = await checkAndCreate(hooks, wanted);
      const ours = fake.hooksOf(PROJECT).filter((h) => h.id !== theirs);
      assert.equal(ours.length, 1);
      assert.equal(ours[0].note_events, true);
      assert.equal(id, `${PROJECT}:${ours[0].id}`);
      assert.equal((outs as { noteEvents: boolean }).noteEvents, true);
      assert.equal(fake.requestsOf("POST").length, 1);
      assert.ok(logs.some((line) => new RegExp(`adopted hook ${ours[0].id}`).test(line)));
    });

    it("refuses to guess between two hooks with the same URL", async () => {
      fake.addHookByHand(PROJECT, HOOK_URL);
      fake.inject({ method: "POST", pathIncludes: "/hooks", apply: true, status: 504 });
      await rejection(hooks.create(inputsOfHook()), fake.token, /may exist/, /2 hooks/);
      assert.equal(fake.requestsOf("POST").length, 1);
    });
  });

  describe("defect 6: messages after an ambiguous write", () => {
    beforeEach(() => start());

    it("never advise a plain rerun while the object may exist", async () => {
      fake.inject({ method: "POST", pathIncludes: "/hooks", apply: true, status: 504 });
      fake.inject({ method: "GET", status: 503, body: { message: "down" }, times: 12 });
      const error = await rejection(hooks.create(inputsOfHook()), fake.token, /may exist/);
      assert.doesNotMatch(error.message, /try again later/);
      assert.match(error.message, /POST was not sent again/);
      assert.match(error.message, /Before the next `pulumi up`/);
    });
  });

  describe("defect 2: a deploy key create whose answer is lost", () => {
    beforeEach(() => start());

    for (const { label, fault } of LOST_ANSWERS) {
      it(`finds the key by fingerprint when the POST got ${label}`, async () => {
        fake.inject({ method: "POST", pathIncludes: "/deploy_keys", apply: true, ...fault });
        const { id, outs } = await checkAndCreate(keys, keyInputs());
        const inGitLab = fake.deployKeysOf(PROJECT);
        assert.equal(inGitLab.length, 1);
        assert.equal(id, `${PROJECT}:${inGitLab[0].id}`);
        assert.equal(
          (outs as { fingerprintSha256: string }).fingerprintSha256,
          sha256Fingerprint(KEY),
        );
        assert.equal(fake.requestsOf("POST").length, 1);
        // Now in the state: destroy deletes the write-enabled key without a rerun.
        await keys.delete(id);
        assert.deepEqual(fake.deployKeysOf(PROJECT), []);
      });
    }

    it("computes GitLab's SHA256 fingerprint locally", () => {
      assert.equal(keyFingerprintSha256(KEY), sha256Fingerprint(KEY));
      assert.match(keyFingerprintSha256(KEY)!, /^SHA256:[A-Za-z0-9+/]{43}$/);
    });

    it("records a key it found but could not finish as a partially created resource", async () => {
      // On the project already with another title: the create hands it back, the update fails.
      await checkAndCreate(keys, keyInputs({ title: "by hand", canPush: false }));
      fake.inject({ method: "PUT", status: 403, body: { message: "403 Forbidden" } });
      const error = (await rejection(
        keys.create({ ...keyInputs(), __provider: "serialized-provider" } as DeployKeyInputs),
        fake.token,
        /403/,
      )) as Error & { id?: string; properties?: Record<string, unknown> };
      const [key] = fake.deployKeysOf(PROJECT);
      // pulumi sdk/nodejs/cmd/dynamic-provider/index.ts grpcResponseFromError: an error with
      // `id` becomes ErrorResourceInitFailed, and the engine keeps the resource in the state.
      assert.equal(error.id, `${PROJECT}:${key.id}`);
      assert.equal(error.properties?.deployKeyId, key.id);
      assert.equal(error.properties?.__provider, "serialized-provider");
    });

    it("says the key may exist when GitLab cannot be asked after a lost answer", async () => {
      fake.inject({ method: "POST", apply: true, drop: true, status: 0 });
      fake.inject({ method: "GET", status: 503, body: { message: "down" }, times: 12 });
      await rejection(
        keys.create(keyInputs()),
        fake.token,
        /may exist/,
        /not sent again/,
        /`pulumi destroy` would not remove it/,
        /finds the key by fingerprint and adopts it/,
      );
    });
  });

  describe("defect 3: keys with a multi-word comment", () => {
    beforeEach(() => start());
    const multi = fakePublicKey("multi", "CI deploy key for app");

    it("sends the key as GitLab stores it (first comment word only)", async () => {
      await checkAndCreate(keys, keyInputs({ key: multi }));
      assert.equal(fake.requestsOf("POST")[0].body.key, multi.split(" ").slice(0, 3).join(" "));
    });

    it("adopts a key already on the project instead of failing on its fingerprint", async () => {
      const first = await checkAndCreate(keys, keyInputs({ key: multi, title: "first" }));
      const again = await checkAndCreate(keys, keyInputs({ key: multi, title: "second" }));
      assert.equal(again.id, first.id);
      assert.equal(fake.deployKeysOf(PROJECT).length, 1);
    });

    it("looks a key up by fingerprint on `fingerprint_sha256 has already been taken`", async () => {
      // Stored with another comment (added elsewhere on this project), so GitLab's
      // find_by(key:) misses it and its uniqueness check answers 400.
      const other = `${multi.split(" ").slice(0, 2).join(" ")} laptop`;
      const first = await checkAndCreate(keys, keyInputs({ key: other, title: "by hand" }));
      const again = await checkAndCreate(keys, keyInputs({ key: multi }));
      assert.equal(again.id, first.id);
      assert.equal(fake.deployKeysOf(PROJECT).length, 1);
    });

    it("keeps the 'key used where the token cannot see' hint when the key is not here", async () => {
      const foreign = fakePublicKey("foreign", "used by another team");
      fake.addForeignKey(foreign);
      await rejection(keys.create(keyInputs({ key: foreign })), fake.token, /cannot see/);
    });
  });

  describe("defect 4: redirects", () => {
    let target: http.Server;
    let targetRequests: http.IncomingHttpHeaders[];
    let targetUrl: string;

    beforeEach(async () => {
      await start();
      targetRequests = [];
      target = http.createServer((req, res) => {
        targetRequests.push(req.headers);
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end("[]");
      });
      await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
      targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      target.closeAllConnections();
      await new Promise<void>((resolve) => target.close(() => resolve()));
    });

    it("never follows a redirect (nor sends the token to it); names Location and the fix", async () => {
      const location = `${targetUrl}/api/v4/projects/root%2Fhello-python/hooks`;
      fake.inject({ status: 301, headers: { Location: location }, times: 20 });
      await rejection(
        hooks.create(inputsOfHook()),
        fake.token,
        /redirect/i,
        new RegExp(location.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
        /gitlab:baseUrl/,
        /https/,
      );
      assert.equal(targetRequests.length, 0, "nothing reached the redirect target");
      assert.equal(fake.requestsOf("POST").length, 1);
      assert.deepEqual(fake.hooksOf(PROJECT), []);
    });

    it("refuses a create answer without a numeric id", async () => {
      fake.inject({ method: "POST", status: 200, body: [] });
      await rejection(hooks.create(inputsOfHook()), fake.token, /numeric id/);
      assert.equal(fake.requestsOf("POST").length, 1);
    });
  });

  describe("defect 5: a proxy's page instead of JSON", () => {
    beforeEach(() => start());

    it("names the request and says something other than GitLab answered", async () => {
      const { id } = await checkAndCreate(hooks, inputsOfHook());
      fake.inject({ method: "GET", status: 200, body: "<!DOCTYPE html><title>Sign in</title>" });
      const error = await rejection(
        hooks.read(id),
        fake.token,
        /GET \/projects\/root%2Fhello-python\/hooks\/\d+/,
        /not GitLab's JSON/,
        /something other than GitLab/i,
        /gitlab:baseUrl/,
      );
      assert.doesNotMatch(error.message, /Unexpected token/);
    });
  });

  describe("defect 7: GitLab behind a private CA", () => {
    let dir: string;
    let ca: string;

    before(() => {
      dir = makeTestCa("gitlab-ca-");
      ca = path.join(dir, "ca.pem");
    });

    after(() => removeTestCa(dir));

    beforeEach(async () => {
      fake = await FakeGitLab.start(undefined, { tls: serverTls(dir) });
      fake.addProject(PROJECT);
    });

    async function configured(values: Record<string, string>) {
      const provider = new ProjectHookProvider({ env: {} });
      await provider.configure({
        config: new Config(
          { "gitlab:baseUrl": fake.url, "gitlab:token": fake.token, ...values },
          "tekton-gitlab",
        ),
      });
      return provider;
    }

    it("fails with the TLS problem and both config keys when the CA is unknown", async () => {
      const provider = await configured({});
      await rejection(
        provider.create(inputsOfHook()),
        fake.token,
        /certificate/i,
        /gitlab:cacertFile/,
        /gitlab:insecure/,
      );
      assert.equal(fake.requests.length, 0);
    });

    it("trusts the CA in gitlab:cacertFile", async () => {
      const provider = await configured({ "gitlab:cacertFile": ca });
      const { id } = await checkAndCreate(provider, inputsOfHook());
      assert.match(id, /^root\/hello-python:\d+$/);
      assert.equal(fake.requests[0].headers["private-token"], fake.token);
    });

    it("never sends the token over plain http when the base URL is https", async () => {
      const plain: http.IncomingHttpHeaders[] = [];
      const server = http.createServer((req, res) => {
        plain.push(req.headers);
        res.end("[]");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        const port = (server.address() as AddressInfo).port;
        fake.inject({
          status: 302,
          headers: { Location: `http://127.0.0.1:${port}/x` },
          times: 20,
        });
        const provider = await configured({ "gitlab:cacertFile": ca });
        await rejection(provider.read(`${PROJECT}:1`), fake.token, /redirect/);
        assert.equal(plain.length, 0);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it("skips verification with gitlab:insecure=true", async () => {
      const provider = await configured({ "gitlab:insecure": "true" });
      await checkAndCreate(provider, inputsOfHook());
      assert.equal(fake.hooksOf(PROJECT).length, 1);
    });

    it("names gitlab:cacertFile when the file cannot be read, and validates gitlab:insecure", async () => {
      const missing = await configured({ "gitlab:cacertFile": path.join(dir, "nope.pem") });
      await rejection(missing.create(inputsOfHook()), fake.token, /gitlab:cacertFile/, /nope\.pem/);
      const bad = await configured({ "gitlab:insecure": "yes please" });
      await rejection(bad.create(inputsOfHook()), fake.token, /gitlab:insecure/, /true or false/);
    });
  });
});
