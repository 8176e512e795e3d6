import * as assert from "node:assert/strict";
import {
  DeployKeyInputs,
  DeployKeyOutputs,
  DeployKeyProvider,
  normalizeKey,
  sameKey,
} from "../../components/gitlab/deployKey";
import { UNKNOWN } from "../../components/gitlab/shared";
import { FakeGitLab, fakePublicKey, sha256Fingerprint } from "./fakeGitLab";
import {
  assertDeleteOfGoneIsDone,
  assertStructEncodable,
  checkAndCreate,
  fakeGitLabPerTest,
  providerOptionsFor,
  rejection,
} from "./helpers";

const PROJECT = "root/hello-python";
const KEY = fakePublicKey("deploy");

function inputs(overrides: Partial<DeployKeyInputs> = {}): DeployKeyInputs {
  return { project: PROJECT, title: "tekton", key: KEY, canPush: false, ...overrides };
}

describe("gitlab DeployKey provider", function () {
  let fake: FakeGitLab;
  let provider: DeployKeyProvider;
  let sleeps: number[];
  fakeGitLabPerTest(PROJECT, (started, options) => {
    fake = started;
    sleeps = options.recorder.sleeps;
    provider = new DeployKeyProvider(options);
  });

  const create = (overrides: Partial<DeployKeyInputs> = {}) =>
    checkAndCreate(provider, inputs(overrides));

  describe("check", () => {
    it("accepts valid inputs and defaults canPush to false", async () => {
      const { project, title, key } = inputs();
      const result = await provider.check({}, { project, title, key: `${key}\n` });
      assert.deepEqual(result.failures, []);
      assert.equal(result.inputs.canPush, false);
      assert.equal(result.inputs.key, `${key}\n`, "the key is kept as the user wrote it");
      assertStructEncodable(result.inputs);
    });

    it("names each bad argument and what was expected", async () => {
      const result = await provider.check(
        {},
        {
          project: "https://gitlab.example.com/root/hello-python.git",
          title: " ",
          key: "ssh-ed25519 not*base64",
          canPush: "yes",
          expiresAt: "next year",
        },
      );
      const byProperty = Object.fromEntries(result.failures!.map((f) => [f.property, f.reason]));
      assert.match(byProperty.project, /full path \(e\.g\. group\/app/);
      assert.match(byProperty.title, /title must be a non-empty string/);
      assert.match(byProperty.key, /base64 key body/);
      assert.match(byProperty.canPush, /canPush must be true or false/);
      assert.match(byProperty.expiresAt, /ISO 8601 date such as 2030-01-31/);
    });

    it("rejects a private key without echoing it", async () => {
      const secretish = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END";
      const result = await provider.check({}, { ...inputs(), key: secretish });
      const [failure] = result.failures!;
      assert.equal(failure.property, "key");
      assert.match(failure.reason, /looks like a PRIVATE key; pass the public key/);
      assert.ok(!failure.reason.includes("b3BlbnNzaC1rZXktdjE="));
    });

    it("rejects a key whose body is not of its type", async () => {
      const body = KEY.split(" ")[1];
      const result = await provider.check({}, { ...inputs(), key: `ssh-rsa ${body}` });
      assert.match(result.failures![0].reason, /not a ssh-rsa public key/);
    });

    it("skips values not known yet (preview)", async () => {
      const result = await provider.check({}, { project: PROJECT, title: UNKNOWN, key: UNKNOWN });
      assert.deepEqual(result.failures, []);
    });
  });

  describe("key normalisation", () => {
    it("compares type and body only", () => {
      assert.equal(normalizeKey(`${KEY}\n`), normalizeKey(KEY));
      assert.ok(sameKey(KEY, `${KEY.replace("pulumi@tekton", "other comment")}\n`));
      assert.ok(sameKey(KEY, KEY.split(" ").slice(0, 2).join(" ")));
      assert.ok(!sameKey(KEY, fakePublicKey("other")));
    });
  });

  describe("diff", () => {
    const olds: DeployKeyOutputs = { ...inputs(), deployKeyId: 7, fingerprintSha256: "SHA256:x" };

    it("sees no change for a trailing newline or another comment", async () => {
      for (const key of [`${KEY}\n`, KEY.replace("pulumi@tekton", "ci@laptop"), `  ${KEY}  `]) {
        const diff = await provider.diff("root/hello-python:7", olds, inputs({ key }));
        assert.equal(diff.changes, false, JSON.stringify(key));
      }
      const sameDate = { ...olds, expiresAt: "2030-01-31T00:00:00.000Z" };
      const diff = await provider.diff("x:7", sameDate, inputs({ expiresAt: "2030-01-31" }));
      assert.equal(diff.changes, false, "the same instant spelled differently");
    });

    const cases: [string, Partial<DeployKeyInputs>, string[], boolean][] = [
      // argument, change, replaces, deleteBeforeReplace
      ["title", { title: "renamed" }, [], false],
      ["canPush", { canPush: true }, [], false],
      ["key", { key: fakePublicKey("rotated") }, ["key"], false],
      ["project", { project: "group/other" }, ["project"], true],
      ["expiresAt", { expiresAt: "2031-01-01" }, ["expiresAt"], true],
    ];
    for (const [argument, change, replaces, deleteBeforeReplace] of cases) {
      it(`${argument}: ${replaces.length ? "replaces" : "updates in place"}`, async () => {
        const diff = await provider.diff("root/hello-python:7", olds, inputs(change));
        assert.equal(diff.changes, true);
        assert.deepEqual(diff.replaces, replaces);
        assert.equal(diff.deleteBeforeReplace, deleteBeforeReplace);
      });
    }

    it("deletes first whenever the replacement keeps the same key", async () => {
      const diff = await provider.diff(
        "x:7",
        olds,
        inputs({ expiresAt: "2031-01-01", key: `${KEY}\n`, title: "new" }),
      );
      assert.deepEqual(diff.replaces, ["expiresAt"]);
      assert.equal(diff.deleteBeforeReplace, true);
      const rotation = await provider.diff(
        "x:7",
        olds,
        inputs({ expiresAt: "2031-01-01", key: fakePublicKey("rotated") }),
      );
      assert.deepEqual(rotation.replaces, ["key", "expiresAt"]);
      assert.equal(rotation.deleteBeforeReplace, false, "a new key: create before delete");
    });

    it("replaces when the key is not known yet (preview of a rotation)", async () => {
      const diff = await provider.diff("x:7", olds, inputs({ key: UNKNOWN }));
      assert.deepEqual(diff.replaces, ["key"]);
    });
  });

  describe("create / read / update / delete", () => {
    it("round-trips against GitLab with <project>:<id> ids", async () => {
      const { id, outs } = await create({ expiresAt: "2030-01-31", key: `${KEY}\n` });
      const [stored] = fake.deployKeysOf(PROJECT);
      assert.equal(id, `${PROJECT}:${stored.id}`);
      assert.equal(outs.deployKeyId, stored.id);
      assert.equal(outs.fingerprintSha256, sha256Fingerprint(KEY));
      assert.equal(outs.key, `${KEY}\n`, "state keeps the key as the program gave it");
      assert.equal(outs.expiresAt, "2030-01-31", "and the date as written");
      const [post] = fake.requestsOf("POST");
      assert.deepEqual(post.body, {
        title: "tekton",
        key: KEY,
        can_push: false,
        expires_at: "2030-01-31",
      });

      const read = await provider.read(id, outs);
      assert.deepEqual(read, { id, props: outs }, "a refresh with no drift changes nothing");

      const updated = await provider.update(
        id,
        outs,
        inputs({
          title: "renamed",
          canPush: true,
          expiresAt: "2030-01-31",
          key: `${KEY}\n`,
        }),
      );
      assertStructEncodable(updated.outs);
      assert.equal(updated.outs!.title, "renamed");
      assert.equal(updated.outs!.canPush, true);
      assert.equal(updated.outs!.deployKeyId, stored.id);
      assert.deepEqual(fake.requestsOf("PUT")[0].body, { title: "renamed", can_push: true });
      assert.equal(fake.deployKeysOf(PROJECT)[0].can_push, true);

      await provider.delete(id);
      assert.deepEqual(fake.deployKeysOf(PROJECT), []);
    });

    it("read notices a rename by hand and a key removed by hand", async () => {
      const { id, outs } = await create();
      fake.renameDeployKeyByHand(outs.deployKeyId, "edited in the UI");
      const renamed = await provider.read(id, outs);
      assert.equal(renamed.props!.title, "edited in the UI");
      const diff = await provider.diff(id, renamed.props!, inputs());
      assert.deepEqual([diff.changes, diff.replaces], [true, []], "the next up renames it back");

      fake.removeDeployKeyByHand(PROJECT, outs.deployKeyId);
      const gone = await provider.read(id, outs);
      assert.equal(gone.id, "", "an empty id drops the resource from the state");
    });

    it("reads a key from its id alone (import)", async () => {
      const { id, outs } = await create();
      const read = await provider.read(id);
      assert.equal(read.props!.project, PROJECT);
      assert.equal(read.props!.deployKeyId, outs.deployKeyId);
      assert.ok(sameKey(read.props!.key, KEY));
    });

    it("treats 404 for the key itself (project still there) as already gone", async () => {
      const created = await create();
      fake.removeDeployKeyByHand(PROJECT, created.outs.deployKeyId);
      await assertDeleteOfGoneIsDone(fake, provider, created, "404 Deploy key Not Found");
    });

    it("a missing project is not 'already gone': delete fails and the key stays", async () => {
      // Rotated token, user removed from the project, or a wrong gitlab:baseUrl: GitLab says
      // the project is not found, and knows nothing of the key, which may still grant pushes.
      const { id, outs } = await create({ canPush: true });
      fake.hideProject(PROJECT);
      const error = await rejection(
        provider.delete(id),
        fake.token,
        new RegExp(`delete deploy key ${outs.deployKeyId} of project "root/hello-python"`),
        /404 Project Not Found/,
        /Project "root\/hello-python" was not found or is not visible to the token/,
        /pulumi state delete/,
      );
      assert.equal(error.status, 404);
      assert.deepEqual(
        fake.deployKeysOf(PROJECT).map((k) => [k.id, k.can_push]),
        [[outs.deployKeyId, true]],
        "the write-enabled key is still in GitLab",
      );
    });

    it("a missing project fails a refresh instead of dropping the key from the state", async () => {
      const { id, outs } = await create();
      fake.hideProject(PROJECT);
      await rejection(
        provider.read(id, outs),
        fake.token,
        /read deploy key \d+ of project "root\/hello-python"/,
        /Project "root\/hello-python" was not found or is not visible to the token/,
      );
    });

    it("a wrong gitlab:baseUrl (a path GitLab's API does not serve) is not 'gone' either", async () => {
      const { id, outs } = await create();
      const wrong = new DeployKeyProvider({
        ...providerOptionsFor(fake),
        env: { GITLAB_BASE_URL: `${fake.url}/gitlab`, GITLAB_TOKEN: fake.token },
      });
      await rejection(wrong.delete(id), fake.token, /check gitlab:baseUrl/);
      await rejection(wrong.read(id, outs), fake.token, /check gitlab:baseUrl/);
      assert.equal(fake.deployKeysOf(PROJECT).length, 1);
    });

    it("retries a delete after 5xx but not a create", async () => {
      const { id } = await create();
      fake.inject({ method: "DELETE", status: 503, body: { message: "503 Service Unavailable" } });
      await provider.delete(id);
      assert.equal(fake.requestsOf("DELETE").length, 2);
      assert.deepEqual(sleeps, [750]);

      fake.inject({ method: "POST", status: 500, body: { message: "500 Internal Server Error" } });
      await rejection(provider.create(inputs()), fake.token, /500/);
      assert.equal(fake.requestsOf("POST").length, 2, "one create before, one now: no retry");
    });

    it("reports a key already used where the token cannot see it", async () => {
      const foreign = fakePublicKey("used-elsewhere");
      fake.addForeignKey(foreign);
      await rejection(
        provider.create(inputs({ key: foreign })),
        fake.token,
        /create deploy key "tekton" on project "root\/hello-python"/,
        /already a deploy key somewhere the token cannot see/,
      );
    });

    it("explains 403 and 404 on the project", async () => {
      fake.addProject("group/locked", { maintainer: false });
      await rejection(
        provider.create(inputs({ project: "group/locked" })),
        fake.token,
        /Maintainer role on project "group\/locked"/,
      );
      await rejection(
        provider.create(inputs({ project: "group/nope" })),
        fake.token,
        /Project "group\/nope" was not found or is not visible to the token/,
      );
    });
  });

  describe("the idempotent-create trap", () => {
    it("create returns the existing key; the provider makes title and canPush match", async () => {
      const first = await create({ title: "left by a failed run" });
      const second = await create({ title: "tekton", canPush: true });
      assert.equal(second.outs.deployKeyId, first.outs.deployKeyId);
      assert.equal(second.outs.title, "tekton");
      assert.equal(second.outs.canPush, true);
      assert.equal(fake.deployKeysOf(PROJECT).length, 1);
    });

    it("create-before-delete with the same key would lose it; the diff asks to delete first", async () => {
      const old = await create({ expiresAt: "2030-01-31" });
      const news = inputs({ expiresAt: "2031-01-31" });
      const diff = await provider.diff(old.id, old.outs, news);
      assert.deepEqual(diff.replaces, ["expiresAt"]);
      assert.equal(diff.deleteBeforeReplace, true);

      // What the engine does with deleteBeforeReplace: delete, then create.
      await provider.delete(old.id);
      const replacement = await create(news);
      assert.equal(fake.deployKeysOf(PROJECT).length, 1);
      assert.equal(fake.deployKeysOf(PROJECT)[0].expires_at, "2031-01-31T00:00:00.000Z");

      // The default order (create, then delete the old id) ends with no key at all.
      const trap = await create(inputs({ expiresAt: "2032-01-31" }));
      assert.equal(trap.id, replacement.id, "GitLab handed back the same record");
      await provider.delete(replacement.id);
      assert.deepEqual(fake.deployKeysOf(PROJECT), []);
    });

    it("key rotation creates the new key before deleting the old one", async () => {
      const old = await create();
      const news = inputs({ key: fakePublicKey("rotated") });
      const diff = await provider.diff(old.id, old.outs, news);
      assert.equal(diff.deleteBeforeReplace, false);
      const rotated = await create(news);
      assert.equal(fake.deployKeysOf(PROJECT).length, 2, "both keys valid during the switch");
      await provider.delete(old.id);
      assert.deepEqual(
        fake.deployKeysOf(PROJECT).map((k) => k.id),
        [rotated.outs.deployKeyId],
      );
    });
  });
});
