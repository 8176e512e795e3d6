// What DeployKey and ProjectHook put in the state, and that stacks written by the previous
// provider (its whole code in `__provider`) still refresh, destroy, and move to the small one.
import { RegisteredResource } from "../harness/mocks";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { exampleConfig, runProgram, withStructured } from "../harness/program";
import { resourcesOfType } from "../harness/registered";
import { FakeGitLab, fakePublicKey } from "./fakeGitLab";
import { ProviderHost } from "./providerHost";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string");

const KINDS = ["DeployKey", "ProjectHook"] as const;
type Kind = (typeof KINDS)[number];
const TYPE = (kind: Kind) => `pulumi-nodejs:dynamic/gitlab:${kind}`;

/** At most this much state per GitLab resource (issue 11; it was ~100 kB: 50 kB, twice). */
const MAX_STATE_BYTES = 5_000;

/**
 * `__provider` as the provider before the forwarder serialized it (50,765 and 48,359
 * characters), taken from the program's registrations at commit 2a393f3; see fixtures/README.md.
 */
function legacyProvider(kind: Kind): string {
  return fs.readFileSync(path.join(__dirname, "fixtures", `legacy-${kind}-provider.js`), "utf8");
}

/** The state secret envelope the engine writes for a secret value (ciphertext ~4/3 larger). */
function secretEnvelope(value: unknown): unknown {
  const length = Math.ceil(((JSON.stringify(value).length + 28) * 4) / 3) + 24;
  return {
    "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
    ciphertext: `v1:${"x".repeat(length)}`,
  };
}

/**
 * The resource's checkpoint entry as the engine writes it: inputs, outputs (the inputs plus
 * GitLab's ids, and `__provider` again, copied by the host), secrets as ciphertext.
 */
function stateEntryBytes(r: RegisteredResource): number {
  const inputs: Record<string, unknown> = { ...r.inputs };
  for (const secret of r.secretPaths) inputs[secret] = secretEnvelope(inputs[secret]);
  const outputs = {
    ...inputs,
    ...(r.type === TYPE("DeployKey")
      ? { deployKeyId: 1234567, fingerprintSha256: `SHA256:${"f".repeat(43)}` }
      : { hookId: 1234567 }),
  };
  const entry = {
    urn: r.urn,
    custom: true,
    id: `${r.inputs.project}:1234567`,
    type: r.type,
    inputs,
    outputs,
    parent: r.parent,
    provider: `urn:pulumi:dev::tekton-gitlab::pulumi:providers:pulumi-nodejs::default::${"0".repeat(36)}`,
    dependencies: r.dependencies,
    propertyDependencies: Object.fromEntries(Object.keys(r.inputs).map((k) => [k, []])),
    created: "2026-01-01T00:00:00.000000000Z",
    modified: "2026-01-01T00:00:00.000000000Z",
  };
  return Buffer.byteLength(JSON.stringify(entry, null, 4));
}

/**
 * In the calling `describe`, after its earlier `before` hooks: a fake GitLab holding `project` and
 * Pulumi's provider host configured for it, handed to `started`; both closed after the tests.
 */
function fakeGitLabAndHost(
  project: string,
  started: (fake: FakeGitLab, host: ProviderHost) => void,
): void {
  let fake: FakeGitLab | undefined;
  let host: ProviderHost | undefined;
  before(async () => {
    fake = await FakeGitLab.start();
    fake.addProject(project);
    host = await ProviderHost.start({ "gitlab:baseUrl": fake.url, "gitlab:token": fake.token });
    started(fake, host);
  });
  after(async () => {
    await host?.close();
    await fake?.close();
  });
}

describe("gitlab resources in the state", function () {
  this.timeout(120_000);
  const providers: Partial<Record<Kind, string>> = {};
  const registrations: RegisteredResource[] = [];

  before(async () => {
    const run = await runProgram(exampleConfig());
    if (run.error) throw run.error;
    for (const kind of KINDS) {
      const found = resourcesOfType(run, TYPE(kind));
      assert.ok(found.length > 0, `the example stack registers no ${kind}`);
      registrations.push(...found);
      providers[kind] = found[0].inputs.__provider;
    }
  });

  it(`keeps each DeployKey and ProjectHook under ${MAX_STATE_BYTES} bytes of state`, () => {
    for (const r of registrations) {
      const bytes = stateEntryBytes(r);
      assert.ok(bytes <= MAX_STATE_BYTES, `${r.type} ${r.name}: ${bytes} bytes of state`);
    }
  });

  it(`stays under ${MAX_STATE_BYTES} bytes with the longest app name and a deep project path`, async () => {
    // Every dependency is a URN in the entry, and URNs carry the app's name: the webhook must
    // not list every resource the whole app waits for (the Tekton install, its readiness gate,
    // the app's credentials), only what it needs directly.
    const longName = "a".repeat(40);
    const config = withStructured(exampleConfig(), "apps", (apps) => [
      {
        ...apps[0],
        name: longName,
        // GitLab groups nest: a project path of this length is common.
        sourceProject: "platform-engineering/backend-services/payments/hello-python-service",
      },
    ]);
    const run = await runProgram(config);
    if (run.error) throw run.error;
    for (const kind of KINDS) {
      for (const r of resourcesOfType(run, TYPE(kind))) {
        const bytes = stateEntryBytes(r);
        assert.ok(bytes <= MAX_STATE_BYTES, `${r.type} ${r.name}: ${bytes} bytes of state`);
      }
    }
  });

  it(`stays under ${MAX_STATE_BYTES} bytes with merge request builds (two more Triggers to wait for) and long names`, async () => {
    const config = withStructured(exampleConfig(), "apps", (apps) => [
      {
        ...apps[0],
        name: "a".repeat(40),
        sourceProject: "platform-engineering/backend-services/payments/hello-python-service",
        mergeRequests: { build: true },
      },
    ]);
    const run = await runProgram(config);
    if (run.error) throw run.error;
    const hooks = resourcesOfType(run, TYPE("ProjectHook"));
    assert.equal(hooks.length, 1);
    assert.equal(hooks[0].inputs.noteEvents, true);
    for (const kind of KINDS) {
      for (const r of resourcesOfType(run, TYPE(kind))) {
        const bytes = stateEntryBytes(r);
        assert.ok(bytes <= MAX_STATE_BYTES, `${r.type} ${r.name}: ${bytes} bytes of state`);
      }
    }
  });

  it("stores the provider by name, not its code: one require of the forwarder package", () => {
    const modules = { DeployKey: "deploy-key.js", ProjectHook: "project-hook.js" };
    for (const kind of KINDS) {
      const text = providers[kind]!;
      const requires = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
      assert.deepEqual(requires, [`@tekton-gitlab/gitlab-provider/${modules[kind]}`]);
      // No function of ours is serialized: nothing to go stale in the state.
      assert.ok(!/GitLab|fetch|class /.test(text), `${kind}'s __provider carries code:\n${text}`);
      for (const r of registrations.filter((x) => x.type === TYPE(kind))) {
        assert.equal(r.inputs.__provider, text, "every resource of a kind stores the same text");
      }
    }
  });

  it("node_modules holds a copy of components/gitlab/runtime, not a link or a stale copy", () => {
    // A symlink would put the package's real path, without `node_modules`, in require.cache,
    // and the serializer would store the forwarder by value (~3.7 kB, twice per resource).
    const installed = path.join(
      __dirname,
      "..",
      "..",
      "node_modules",
      "@tekton-gitlab",
      "gitlab-provider",
    );
    assert.equal(
      fs.lstatSync(installed).isSymbolicLink(),
      false,
      "install-links=true is not in effect",
    );
    const source = path.join(__dirname, "..", "..", "components", "gitlab", "runtime");
    for (const file of fs.readdirSync(source)) {
      assert.equal(
        fs.readFileSync(path.join(installed, file), "utf8"),
        fs.readFileSync(path.join(source, file), "utf8"),
        `node_modules has an old ${file}: run npm ci`,
      );
    }
  });

  it("the state's provider runs components/gitlab/provider.ts as the project has it now", async () => {
    // A fix reaches existing resources because the state only names the forwarder, which
    // looks the implementation up again in each provider process.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const entry = require("../../components/gitlab/provider");
    const original = entry.provider;
    const calls: string[] = [];
    entry.provider = (kind: Kind) => ({
      configure: async () => undefined,
      read: async (id: string) => {
        calls.push(`${kind} read ${id}`);
        return { id, props: {} };
      },
      delete: async (id: string) => {
        calls.push(`${kind} delete ${id}`);
      },
    });
    try {
      for (const kind of KINDS) {
        const provider = requireFromString(providers[kind]!).handler();
        await provider.configure({ config: { get: () => undefined } });
        await provider.read("root/app:1", {});
        await provider.delete("root/app:1", {});
      }
    } finally {
      entry.provider = original;
    }
    assert.deepEqual(calls, [
      "DeployKey read root/app:1",
      "DeployKey delete root/app:1",
      "ProjectHook read root/app:1",
      "ProjectHook delete root/app:1",
    ]);
  });

  describe("in Pulumi's dynamic provider host, run as the engine runs it", () => {
    let fake: FakeGitLab;
    let host: ProviderHost;
    const PROJECT = "root/hello-python";
    fakeGitLabAndHost(PROJECT, (f, h) => {
      fake = f;
      host = h;
    });

    const inputsOf = (kind: Kind, n: number): Record<string, unknown> =>
      kind === "DeployKey"
        ? { project: PROJECT, title: `key-${n}`, key: fakePublicKey(`state-${n}`), canPush: true }
        : { project: PROJECT, url: `https://tekton.example.com/hooks/${n}`, token: `t-${n}` };

    /** `pulumi up` creating the resource with provider `text`: Check, then Create. */
    async function created(kind: Kind, text: string, n: number) {
      const checked = await host.check({}, { ...inputsOf(kind, n), __provider: text });
      assert.deepEqual(checked.failures, []);
      assert.equal(checked.inputs.__provider, text);
      const result = await host.create(checked.inputs);
      // The host stores the outputs with the `__provider` of the inputs.
      assert.equal(result.properties.__provider, text);
      return { id: result.id, inputs: checked.inputs, outputs: result.properties };
    }

    const inGitLab = (kind: Kind) =>
      kind === "DeployKey" ? fake.deployKeysOf(PROJECT) : fake.hooksOf(PROJECT);

    for (const kind of KINDS) {
      it(`${kind}: the new provider creates, refreshes and destroys`, async () => {
        const text = providers[kind]!;
        const before = inGitLab(kind).length;
        const state = await created(kind, text, 1);
        assert.equal(inGitLab(kind).length, before + 1);
        const read = await host.read(state.id, state.outputs);
        assert.equal(read.id, state.id);
        await host.delete(state.id, state.outputs);
        assert.equal(inGitLab(kind).length, before);
      });

      it(`${kind}: a stack from the previous provider refreshes and destroys as it is`, async () => {
        const legacy = legacyProvider(kind);
        const before = inGitLab(kind).length;
        const state = await created(kind, legacy, 2);
        assert.equal(inGitLab(kind).length, before + 1);
        // Refresh and destroy run the state's (legacy) __provider: the host's read and delete
        // call getProvider(props) with the outputs the engine sends.
        const read = await host.read(state.id, state.outputs);
        assert.equal(read.id, state.id);
        assert.equal(read.properties.__provider, legacy);
        await host.delete(state.id, state.outputs);
        assert.equal(inGitLab(kind).length, before);
      });

      it(`${kind}: the next up moves it to the new provider without a GitLab call`, async () => {
        const legacy = legacyProvider(kind);
        const text = providers[kind]!;
        const state = await created(kind, legacy, 3);
        const requestsBefore = fake.requests.length;

        // `pulumi up` with the program of today: Check and Diff run the provider of the new
        // inputs (`news.__provider`), and nothing but `__provider` changed.
        const checked = await host.check(state.inputs, { ...state.inputs, __provider: text });
        assert.deepEqual(checked.failures, []);
        const diff = await host.diff(state.id, state.outputs, checked.inputs);
        assert.equal(diff.changes, "some", "a diff of `__provider` alone must update the outputs");
        assert.deepEqual(diff.replaces, []);
        const updated = await host.update(state.id, state.outputs, checked.inputs);
        assert.equal(fake.requests.length, requestsBefore, "the move made GitLab requests");
        assert.deepEqual(updated.properties, { ...state.outputs, __provider: text });
        const outputs = updated.properties;

        // Moved: the next up sees no change, and refresh and destroy run today's code.
        const again = await host.diff(state.id, outputs, checked.inputs);
        assert.equal(again.changes, "none");
        const read = await host.read(state.id, outputs);
        assert.equal(read.id, state.id);
        assert.deepEqual(read.properties, outputs);
        const before = inGitLab(kind).length;
        await host.delete(state.id, outputs);
        assert.equal(inGitLab(kind).length, before - 1);
      });
    }
  });
});

describe("ProjectAccessToken in the state (issue 12)", function () {
  this.timeout(120_000);
  const TOKEN_TYPE = "pulumi-nodejs:dynamic/gitlab:ProjectAccessToken";
  const PROJECT = "root/hello-python";
  let registration: RegisteredResource;
  let fake: FakeGitLab;
  let host: ProviderHost;

  before(async () => {
    const run = await runProgram(exampleConfig());
    if (run.error) throw run.error;
    [registration] = resourcesOfType(run, TOKEN_TYPE);
    assert.ok(registration, "the example stack registers no ProjectAccessToken");
  });
  fakeGitLabAndHost(PROJECT, (f, h) => {
    fake = f;
    host = h;
  });

  it(`keeps its registration under ${MAX_STATE_BYTES} bytes of state, also with long names`, async () => {
    const longName = "a".repeat(40);
    const long = await runProgram(
      withStructured(exampleConfig(), "apps", (apps) => [
        {
          ...apps[0],
          name: longName,
          sourceProject: "platform-engineering/backend-services/payments/hello-python-service",
        },
      ]),
    );
    if (long.error) throw long.error;
    for (const r of [registration, ...resourcesOfType(long, TOKEN_TYPE)]) {
      const bytes = stateEntryBytes(r);
      assert.ok(bytes <= MAX_STATE_BYTES, `${r.name}: ${bytes} bytes of state`);
    }
  });

  /**
   * The checkpoint entry as the engine writes it: secret inputs, and the outputs named in
   * additionalSecretOutputs, as ciphertext (pkg/resource/deploy/step_executor.go marks them
   * secret; the snapshot encrypts every secret).
   */
  function stateEntry(id: string, outputs: Record<string, unknown>): string {
    const inputs: Record<string, unknown> = { ...registration.inputs };
    for (const secret of registration.secretPaths) inputs[secret] = secretEnvelope(inputs[secret]);
    const outs: Record<string, unknown> = { ...outputs };
    for (const key of registration.additionalSecretOutputs) {
      if (key in outs) outs[key] = secretEnvelope(outs[key]);
    }
    return JSON.stringify({ urn: registration.urn, id, type: TOKEN_TYPE, inputs, outputs: outs });
  }

  it("stores the provider by name and asks the engine to encrypt `token`", () => {
    const requires = [...registration.inputs.__provider.matchAll(/require\("([^"]+)"\)/g)].map(
      (m: RegExpMatchArray) => m[1],
    );
    assert.deepEqual(requires, ["@tekton-gitlab/gitlab-provider/project-access-token.js"]);
    assert.deepEqual(registration.additionalSecretOutputs, ["token"]);
    assert.ok(Buffer.byteLength(stateEntry(`${PROJECT}:1`, registration.inputs)) < 5_000);
  });

  it("the token value never appears in plain in the state entry, after create, refresh and rotation", async () => {
    const text = registration.inputs.__provider as string;
    const checked = await host.check(
      {},
      {
        ...registration.inputs,
        project: PROJECT,
        name: "state test",
        __provider: text,
      },
    );
    assert.deepEqual(checked.failures, []);
    const created = await host.create(checked.inputs);
    const value = fake.accessTokenValue(PROJECT, created.properties.tokenId)!;
    assert.ok(value.startsWith("glpat-"));
    assert.equal(created.properties.token, value, "the host hands the value to the engine");
    assert.ok(!stateEntry(created.id, created.properties).includes(value));
    // Only `token` holds it: nothing else the engine stores in plain.
    const rest = { ...created.properties };
    delete rest.token;
    assert.ok(!JSON.stringify(rest).includes(value));

    const read = await host.read(created.id, created.properties);
    assert.equal(read.properties.token, value, "refresh keeps the value GitLab never shows again");
    assert.ok(!stateEntry(read.id, read.properties).includes(value));

    const expired = { ...created.properties, expiresAt: "2000-01-01" };
    const diff = await host.diff(created.id, expired, checked.inputs);
    assert.equal(diff.changes, "some");
    const updated = await host.update(created.id, expired, checked.inputs);
    const rotated = fake.accessTokenValue(PROJECT, updated.properties.tokenId)!;
    assert.notEqual(rotated, value);
    assert.equal(updated.properties.token, rotated);
    assert.ok(!stateEntry(created.id, updated.properties).includes(rotated));

    await host.delete(created.id, updated.properties);
    assert.deepEqual(fake.activeAccessTokensOf(PROJECT), []);
  });
});
