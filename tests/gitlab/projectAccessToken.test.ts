// The ProjectAccessToken provider against the fake GitLab (issue 12): @pulumi/gitlab's names,
// rotation before expiry, and the issue 11 standards: no duplicate live tokens after a lost
// answer, nothing left after destroy, the value never in an error or log line.
import * as assert from "node:assert/strict";
import {
  ProjectAccessTokenInputs,
  ProjectAccessTokenOutputs,
  ProjectAccessTokenProvider,
  daysAfter,
} from "../../components/gitlab/projectAccessToken";
import { FakeGitLab } from "./fakeGitLab";
import {
  PROXY_FAULTS,
  assertNoToken,
  assertStructEncodable,
  checkAndCreate,
  providerOptionsFor,
  rejection,
  seen,
} from "./helpers";

const PROJECT = "root/hello-python";
const DAY = 86_400_000;

function inputs(overrides: Partial<ProjectAccessTokenInputs> = {}): ProjectAccessTokenInputs {
  return {
    project: PROJECT,
    name: "tekton-status-hello-python",
    scopes: ["api"],
    accessLevel: "developer",
    rotationConfiguration: { expirationDays: 365, rotateBeforeDays: 30 },
    ...overrides,
  };
}

/** The faults a proxy can turn a successful write into. */
const LOST_ANSWERS = [
  ...PROXY_FAULTS,
  { label: "a redirect", fault: { status: 302, headers: { Location: "https://sso.example/" } } },
  { label: "an HTML page", fault: { status: 200, body: "<!DOCTYPE html><title>SSO</title>" } },
] as const;

describe("gitlab ProjectAccessToken provider", function () {
  let fake: FakeGitLab;
  let provider: ProjectAccessTokenProvider;
  let clock: number;
  let logs: string[];
  /** Every token value GitLab handed out, to look for in errors and logs. */
  const values = () =>
    fake
      .accessTokensOf(PROJECT)
      .map((t) => fake.accessTokenValue(PROJECT, t.id as number)!)
      .filter(Boolean);

  beforeEach(async () => {
    fake = await FakeGitLab.start();
    fake.addProject(PROJECT);
    clock = Date.parse("2026-06-01T12:00:00Z");
    fake.now = () => clock;
    const options = providerOptionsFor(fake, { now: () => clock });
    logs = options.recorder.logs;
    provider = new ProjectAccessTokenProvider(options);
  });

  afterEach(async () => {
    for (const value of values()) {
      for (const line of logs) assert.ok(!line.includes(value), `token value in log: ${line}`);
      for (const error of seen.errors) assertNoToken(error, value);
    }
    await fake.close();
  });

  async function created(overrides: Partial<ProjectAccessTokenInputs> = {}) {
    return checkAndCreate<ProjectAccessTokenInputs, ProjectAccessTokenOutputs>(
      provider,
      inputs(overrides),
    );
  }

  describe("check", () => {
    it("defaults accessLevel to maintainer, as GitLab and @pulumi/gitlab do", async () => {
      const { inputs: checked, failures } = await provider.check(
        {},
        { project: PROJECT, name: "t", scopes: ["api"], expiresAt: "2027-01-31" },
      );
      assert.deepEqual(failures, []);
      assert.equal(checked.accessLevel, "maintainer");
    });

    it("names each bad argument", async () => {
      const { failures } = await provider.check(
        {},
        {
          project: "https://gitlab.example.com/root/app",
          name: "",
          scopes: [],
          accessLevel: "admin",
          rotationConfiguration: { expirationDays: 400, rotateBeforeDays: 400 },
        },
      );
      const properties = failures!.map((f) => f.property);
      for (const property of [
        "project",
        "name",
        "scopes",
        "accessLevel",
        "rotationConfiguration.expirationDays",
        "rotationConfiguration.rotateBeforeDays",
      ]) {
        assert.ok(properties.includes(property), `no failure for ${property}: ${properties}`);
      }
    });

    it("needs an expiry: expiresAt or rotationConfiguration, not both", async () => {
      const none = await provider.check({}, { project: PROJECT, name: "t", scopes: ["api"] });
      assert.match(none.failures![0].reason, /expiresAt or rotationConfiguration is required/);
      const both = await provider.check(
        {},
        {
          ...inputs(),
          expiresAt: "2027-01-01",
          rotationConfiguration: inputs().rotationConfiguration,
        },
      );
      assert.match(both.failures![0].reason, /not both/);
    });
  });

  describe("create, read, delete", () => {
    it("creates one token with the arguments GitLab takes and returns its value", async () => {
      const { id, outs } = await created();
      const [token] = fake.accessTokensOf(PROJECT);
      assert.equal(id, `${PROJECT}:${token.id}`);
      const [post] = fake.requestsOf("POST", "/access_tokens");
      assert.deepEqual(post.body.scopes, ["api"]);
      assert.equal(post.body.access_level, 30);
      // expirationDays counts from GitLab's today; 365 is its maximum and is accepted.
      assert.equal(post.body.expires_at, "2027-06-01");
      assert.match(post.body.name, /^tekton-status-hello-python \[pulumi-[0-9a-f]{16}\]$/);
      assert.equal(outs.token, fake.accessTokenValue(PROJECT, token.id as number));
      assert.equal(outs.name, "tekton-status-hello-python");
      assert.equal(outs.tokenId, token.id);
      assert.equal(outs.expiresAt, "2027-06-01");
      assert.equal(outs.active, true);
      assert.equal(outs.revoked, false);
      assert.equal(outs.userId, token.user_id);
      assert.equal(fake.requests.length, 1, "one request when nothing goes wrong");
    });

    it("reports GitLab's 400 for an expiry past its maximum lifetime", async () => {
      await rejection(
        provider.create({ ...inputs(), rotationConfiguration: undefined, expiresAt: "2030-01-01" }),
        fake.token,
        /400 Bad request - Expires at must be before 2027-06-01/,
      );
      assert.deepEqual(fake.accessTokensOf(PROJECT), []);
    });

    it("refresh keeps the value (GitLab never shows it again) and drops a token revoked by hand", async () => {
      const { id, outs } = await created();
      const read = await provider.read(id, outs);
      assert.equal(read.id, id);
      assert.deepEqual(read.props, outs);
      assertStructEncodable(read.props);
      fake.revokeAccessTokenByHand(PROJECT, outs.tokenId);
      assert.equal((await provider.read(id, outs)).id, "");
    });

    it("destroy revokes the token; a token already gone is fine", async () => {
      const { id, outs } = await created();
      await provider.delete(id, outs);
      assert.deepEqual(fake.activeAccessTokensOf(PROJECT), []);
      await provider.delete(id, outs);
      const other = await created();
      fake.inject({
        method: "DELETE",
        status: 404,
        body: { message: "404 project Access Token Not Found" },
      });
      fake.revokeAccessTokenByHand(PROJECT, other.outs.tokenId);
      await provider.delete(other.id, other.outs);
    });

    it("destroy fails, and forgets nothing, when the project is not visible to the token", async () => {
      const { id, outs } = await created();
      fake.hideProject(PROJECT);
      await rejection(provider.delete(id, outs), fake.token, /404 Project Not Found/);
    });
  });

  describe("rotation before expiry", () => {
    it("no change until rotateBeforeDays before expiry, then an in-place update that rotates", async () => {
      const { id, outs } = await created();
      const news = (await provider.check(outs, { ...inputs() })).inputs as ProjectAccessTokenInputs;
      clock += 334 * DAY; // 31 days before 2027-06-01
      assert.equal((await provider.diff(id, outs, news)).changes, false);
      clock += 1 * DAY; // 30 days before
      const diff = await provider.diff(id, outs, news);
      assert.equal(diff.changes, true);
      assert.deepEqual(diff.replaces, []);

      const rotated = (await provider.update(id, outs, news)).outs!;
      assertStructEncodable(rotated);
      const active = fake.activeAccessTokensOf(PROJECT);
      assert.equal(active.length, 1, "one live token after rotation");
      assert.equal(rotated.tokenId, active[0].id);
      assert.notEqual(rotated.tokenId, outs.tokenId);
      assert.equal(rotated.token, fake.accessTokenValue(PROJECT, rotated.tokenId));
      assert.notEqual(rotated.token, outs.token);
      assert.equal(rotated.expiresAt, daysAfter(clock, 365));
      assert.equal(active[0].name, fake.accessTokensOf(PROJECT)[0].name, "rotation keeps the name");
      // The resource keeps its id; refresh and destroy follow tokenId.
      assert.equal((await provider.read(id, rotated)).id, id);
      assert.equal((await provider.diff(id, rotated, news)).changes, false);
      await provider.delete(id, rotated);
      assert.deepEqual(fake.activeAccessTokensOf(PROJECT), []);
    });

    it("a token that expired before any up rotated it is replaced by a new one in place", async () => {
      const { id, outs } = await created();
      clock += 400 * DAY;
      assert.deepEqual(fake.activeAccessTokensOf(PROJECT), []);
      assert.equal((await provider.diff(id, outs, inputs())).changes, true);
      const renewed = (await provider.update(id, outs, inputs())).outs!;
      const active = fake.activeAccessTokensOf(PROJECT);
      assert.equal(active.length, 1);
      assert.equal(renewed.tokenId, active[0].id);
      assert.equal(renewed.token, fake.accessTokenValue(PROJECT, renewed.tokenId));
      assert.equal(fake.requestsOf("POST", "/rotate").length, 0, "an expired token is not rotated");
    });

    // GitLab keeps an expired token (not revoked) and its bot user's membership
    // (app/services/personal_access_tokens/rotate_service.rb `update_project_bot_membership`,
    // gitlab-org/gitlab#514328); only a revoke schedules the bot user for deletion
    // (app/services/resource_access_tokens/revoke_service.rb `destroy_bot_user`).
    const notRevoked = () =>
      fake
        .accessTokensOf(PROJECT)
        .filter((t) => t.revoked !== true)
        .map((t) => t.id);

    it("renewing an expired token revokes it, so destroy leaves no token or bot user behind", async () => {
      const { id, outs } = await created();
      clock += 400 * DAY;
      const renewed = (await provider.update(id, outs, inputs())).outs!;
      assert.deepEqual(notRevoked(), [renewed.tokenId], "the expired token is revoked");
      await provider.delete(id, renewed);
      assert.deepEqual(notRevoked(), []);
    });

    it("refresh keeps an expired token (not revoked) in the state; the next up renews and revokes it", async () => {
      const { id, outs } = await created();
      clock += 400 * DAY;
      const read = await provider.read(id, outs);
      assert.equal(read.id, id, "an expired token still exists in GitLab: refresh keeps it");
      assert.equal(read.props!.active, false);
      assert.equal(read.props!.tokenId, outs.tokenId);
      assertStructEncodable(read.props);
      assert.equal((await provider.diff(id, read.props!, inputs())).changes, true);
      const renewed = (await provider.update(id, read.props!, inputs())).outs!;
      assert.equal(renewed.active, true);
      assert.equal(renewed.token, fake.accessTokenValue(PROJECT, renewed.tokenId));
      await provider.delete(id, renewed);
      assert.deepEqual(notRevoked(), []);
    });

    it("a failed revoke of the expired token after a renewal keeps the new value and warns", async () => {
      const { id, outs } = await created();
      clock += 400 * DAY;
      fake.inject({ method: "DELETE", status: 400, body: { message: "400 Bad request - x" } });
      const renewed = (await provider.update(id, outs, inputs())).outs!;
      assert.equal(renewed.token, fake.accessTokenValue(PROJECT, renewed.tokenId));
      assert.ok(
        logs.some((l) => l.includes(`access token ${outs.tokenId}`) && l.includes("revoke")),
        logs.join("\n"),
      );
    });

    it("a new explicit expiresAt rotates; name, scopes and role replace", async () => {
      const { id, outs } = await created({
        rotationConfiguration: undefined,
        expiresAt: "2027-01-31",
      });
      const base = { ...inputs(), rotationConfiguration: undefined, expiresAt: "2027-01-31" };
      assert.equal((await provider.diff(id, outs, base)).changes, false);
      const later = await provider.diff(id, outs, { ...base, expiresAt: "2027-02-28" });
      assert.deepEqual([later.changes, later.replaces], [true, []]);
      assert.deepEqual((await provider.diff(id, outs, { ...base, name: "x" })).replaces, ["name"]);
      assert.deepEqual(
        (await provider.diff(id, outs, { ...base, scopes: ["read_api"] })).replaces,
        ["scopes"],
      );
      assert.deepEqual(
        (await provider.diff(id, outs, { ...base, accessLevel: "maintainer" })).replaces,
        ["accessLevel"],
      );
      const rotated = (
        await provider.update(id, outs, {
          ...base,
          expiresAt: "2027-02-28",
        })
      ).outs!;
      assert.equal(rotated.expiresAt, "2027-02-28");
      assert.equal(fake.activeAccessTokensOf(PROJECT).length, 1);
    });
  });

  describe("lost answers (issue 11 standards)", () => {
    // GitLab paginates the list (lib/api/resource_access_tokens.rb `present paginate(tokens)`,
    // 20 a page by default) and lists revoked and expired tokens too: a project with many
    // tokens, each rotation adding one, must not hide ours on a later page.
    it("finds its token past the first page of a project with many access tokens", async () => {
      const client = provider["client"]();
      for (let i = 0; i < 130; i++) {
        await client.createProjectAccessToken(PROJECT, {
          name: `other ${i}`,
          scopes: ["read_api"],
          access_level: 10,
          expires_at: daysAfter(clock, 30),
        });
      }
      fake.inject({
        method: "POST",
        pathIncludes: "/access_tokens",
        apply: true,
        drop: true,
        status: 0,
      });
      const { id, outs } = await created();
      assert.equal(outs.token, fake.accessTokenValue(PROJECT, outs.tokenId));
      assert.ok(
        fake.requestsOf("GET", "/access_tokens").some((r) => r.query.page === "2"),
        "the list followed x-next-page",
      );
      await provider.delete(id, outs);
      assert.equal(fake.activeAccessTokensOf(PROJECT).length, 130);
      assert.ok(
        fake.activeAccessTokensOf(PROJECT).every((t) => String(t.name).startsWith("other")),
      );
    });

    for (const { label, fault } of LOST_ANSWERS) {
      it(`a create that got ${label}: never POSTs create again, rotates the token it made`, async () => {
        fake.inject({ method: "POST", pathIncludes: "/access_tokens", apply: true, ...fault });
        const { id, outs } = await created();
        assert.equal(
          fake.requests.filter((r) => r.method === "POST" && r.rawPath.endsWith("/access_tokens"))
            .length,
          1,
          "the create POST is sent once",
        );
        const active = fake.activeAccessTokensOf(PROJECT);
        assert.equal(active.length, 1, "exactly one live token");
        assert.equal(outs.tokenId, active[0].id);
        assert.equal(outs.token, fake.accessTokenValue(PROJECT, outs.tokenId));
        assert.equal(outs.active, true);
        assert.equal(id, `${PROJECT}:${outs.tokenId}`);
        assert.equal((await provider.read(id, outs)).id, id);
        await provider.delete(id, outs);
        assert.deepEqual(fake.activeAccessTokensOf(PROJECT), []);
      });
    }

    it("a lost create that GitLab did not apply: says nothing was created", async () => {
      fake.inject({ method: "POST", status: 502, body: "<html/>" });
      await rejection(
        provider.create(inputs()),
        fake.token,
        /GitLab did not create it/,
        /no access token is named/,
      );
      assert.deepEqual(fake.accessTokensOf(PROJECT), []);
    });

    it("a lost create when GitLab cannot be asked: may exist, names the token to revoke", async () => {
      fake.inject({ method: "POST", apply: true, drop: true, status: 0 });
      fake.inject({ method: "GET", status: 503, body: { message: "down" }, times: 12 });
      await rejection(
        provider.create(inputs()),
        fake.token,
        /may exist/,
        /not sent again/,
        /tekton-status-hello-python \[pulumi-[0-9a-f]{16}\]/,
        /Settings > Access tokens/,
      );
    });

    it("a lost rotate answer: lists, rotates the successor; one live token, its value held", async () => {
      const { id, outs } = await created();
      clock += 340 * DAY;
      fake.inject({
        method: "POST",
        pathIncludes: "/rotate",
        apply: true,
        status: 504,
        body: "<html/>",
      });
      const rotated = (await provider.update(id, outs, inputs())).outs!;
      const active = fake.activeAccessTokensOf(PROJECT);
      assert.equal(active.length, 1);
      assert.equal(rotated.tokenId, active[0].id);
      assert.equal(rotated.token, fake.accessTokenValue(PROJECT, rotated.tokenId));
      // Never a rotate of a revoked token: GitLab's reuse detection would revoke the family.
      assert.ok(fake.requestsOf("POST", "/rotate").every((r) => r.status !== 400));
    });

    it("a create whose answer and follow-up rotate fail is kept in the state without a value", async () => {
      fake.inject({ method: "POST", pathIncludes: "/access_tokens", apply: true, status: 502 });
      fake.inject({
        method: "POST",
        pathIncludes: "/rotate",
        status: 403,
        body: { message: "403 Forbidden" },
      });
      const error = (await rejection(
        provider.create({ ...inputs(), __provider: "p" } as ProjectAccessTokenInputs),
        fake.token,
        /403/,
      )) as Error & {
        id?: string;
        properties?: ProjectAccessTokenOutputs & { __provider?: string };
      };
      const [token] = fake.accessTokensOf(PROJECT);
      assert.equal(error.id, `${PROJECT}:${token.id}`);
      assert.equal(error.properties?.active, false);
      assert.equal(error.properties?.token, undefined);
      assert.equal(error.properties?.__provider, "p");
      assertStructEncodable(error.properties);
      // The next up rotates it (no value in the state), destroy revokes it.
      const props = error.properties!;
      const diff = await provider.diff(error.id!, props, inputs());
      assert.equal(diff.changes, true);
      const outs = (await provider.update(error.id!, props, inputs())).outs!;
      assert.equal(outs.token, fake.accessTokenValue(PROJECT, outs.tokenId));
      assert.equal(fake.activeAccessTokensOf(PROJECT).length, 1);
    });

    it("refresh after a rotation whose update failed follows the successor, and the next up rotates it", async () => {
      const { id, outs } = await created();
      clock += 340 * DAY;
      // The rotate is applied, its answer lost, and GitLab cannot be listed: the update fails.
      fake.inject({ method: "POST", pathIncludes: "/rotate", apply: true, drop: true, status: 0 });
      fake.faults = (r) =>
        r.method === "GET" && r.rawPath.endsWith("/access_tokens")
          ? { status: 503, body: { message: "down" } }
          : undefined;
      const failed = (await rejection(
        provider.update(id, outs, inputs()),
        fake.token,
        /may exist/,
      )) as Error & {
        id?: string;
        properties?: ProjectAccessTokenOutputs;
      };
      fake.faults = undefined;
      // A partial failure: the engine stores these outputs, and the next up rotates without a
      // refresh first.
      assert.equal(failed.id, id);
      assert.equal(failed.properties?.active, false);
      assert.equal((await provider.diff(id, failed.properties!, inputs())).changes, true);
      // The state still names the old (now revoked) token.
      const read = await provider.read(id, outs);
      assert.equal(read.id, id);
      const successor = fake.activeAccessTokensOf(PROJECT)[0];
      assert.equal(read.props!.tokenId, successor.id);
      assert.equal(read.props!.active, false);
      assert.equal((await provider.diff(id, read.props!, inputs())).changes, true);
      const rotated = (await provider.update(id, read.props!, inputs())).outs!;
      assert.equal(fake.activeAccessTokensOf(PROJECT).length, 1);
      assert.equal(rotated.token, fake.accessTokenValue(PROJECT, rotated.tokenId));
      // Destroy from the old state too revokes every live token carrying the marker.
      await provider.delete(id, outs);
      assert.deepEqual(fake.activeAccessTokensOf(PROJECT), []);
    });

    it("never puts a token value in an error: an answer without an id is refused quietly", async () => {
      const leaked = "glpat-LEAKED-value-0123456789";
      fake.inject({ method: "POST", status: 200, body: { token: leaked } });
      const error = await rejection(provider.create(inputs()), fake.token, /numeric id/);
      assertNoToken(error, leaked);
    });
  });
});
