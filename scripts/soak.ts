// `npm run soak -- --seed N --ops N --fault-rate R`: drives the DeployKey, ProjectHook and
// ProjectAccessToken providers the way the Pulumi engine does (check, diff, then create / update / replace /
// delete, and read for refresh; results through protobuf Structs; a create that fails with
// `id` and `properties` kept in the state as a partial failure, a failed delete of a replaced
// resource kept as a pending delete) against the fake GitLab (tests/gitlab/fakeGitLab.ts) on
// 127.0.0.1 with random faults: 429 with and without Retry-After / RateLimit-Reset, 5xx,
// dropped connections, a proxy's HTML page, and writes GitLab applied whose answer is then lost
// (nothing, a 5xx or a redirect). Then faults off, converge, refresh, destroy.
//
// Access tokens also see days pass on the virtual clock (GitLab's clock too), so they come due for
// rotation and some expire before an `up` rotates them.
//
// Prints one summary line and exits 1 when an invariant breaks: orphans (in GitLab, not in
// state; for access tokens: a live token whose id the state does not hold), duplicates (two
// hooks with one URL on a project, two live access tokens of one resource), ghosts (in state,
// not in GitLab), token leaks (API, hook or access token value in an error or log line), POST retries (the same POST sent
// again within one operation after an answer other than 429), rate-limit waits other than the
// one GitLab asked for, drift after converge, and anything left in GitLab after destroy.
// Deterministic per seed (waits are recorded on a virtual clock, never slept); loopback only;
// bounded by a hard time limit.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { provider as gitlabProvider } from "../components/gitlab/provider";
import {
  FakeGitLab,
  InjectedResponse,
  RecordedRequest,
  fakePublicKey,
} from "../tests/gitlab/fakeGitLab";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string");
// The Config object the Node.js dynamic provider host hands to `configure`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Config } = require("@pulumi/pulumi/cmd/dynamic-provider/config");

const HARD_LIMIT_MS = Number(process.env.SOAK_TIME_LIMIT_MS ?? 300_000);
const PROJECTS = ["soak/app-0", "soak/app-1", "soak/app-2"];
const SLOTS = 9;
const DAY_MS = 86_400_000;
/** Stands in for the serialized provider in `__provider` with `--direct`. */
const PROVIDER_MARK = "serialized-provider-placeholder";

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
  return value;
}

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the engine sends and stores: protobuf Structs (undefined is not allowed). */
function viaStruct<T>(value: T): T {
  return Struct.fromJavaScript(value).toJavaScript() as T;
}

type Kind = "key" | "hook" | "token";
type Props = Record<string, unknown>;

interface StateEntry {
  kind: Kind;
  id: string;
  inputs: Props;
  outputs: Props;
  /** Created with init errors (partial failure): the engine updates it on the next up. */
  partial?: boolean;
}

async function main(): Promise<number> {
  const seed = arg("seed", 1);
  const opsWanted = arg("ops", 1000);
  const faultRate = arg("fault-rate", 0.2);
  const rng = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)];

  const fake = await FakeGitLab.start();
  for (const project of PROJECTS) fake.addProject(project);

  // Virtual clock: waits advance it instead of sleeping. GitLab's token expiry follows it.
  let clock = Date.UTC(2030, 0, 1);
  fake.now = () => clock;
  let expectedWait: number | undefined;
  let waitMismatches = 0;
  const logs: string[] = [];
  const errors: Error[] = [];
  const clientOptions = {
    sleep: async (ms: number) => {
      if (expectedWait !== undefined && ms !== expectedWait) waitMismatches++;
      expectedWait = undefined;
      clock += ms;
    },
    now: () => clock,
    random: rng,
    log: (line: string) => logs.push(line),
    timeoutMs: 10_000,
  };
  // The providers run the way the engine runs them: serialized as @pulumi/pulumi's
  // dynamic.Resource does (dynamic/index.js serializeFunctionMaybeSecret:
  // `serializeFunction(() => provider, { allowSecrets: true })`), loaded from that text as the
  // dynamic provider host does (cmd/dynamic-provider/index.ts getProvider:
  // `requireFromString(providerString).handler()`), then configured with the host's Config.
  // The clock and log hooks reach the soak through globalThis, which the serializer leaves
  // as a reference. `--direct` uses the in-process objects instead.
  (globalThis as Record<string, unknown>).__gitlabSoak = clientOptions;
  const hooks = {
    sleep: (ms: number) => (globalThis as any).__gitlabSoak.sleep(ms),
    now: () => (globalThis as any).__gitlabSoak.now(),
    random: () => (globalThis as any).__gitlabSoak.random(),
    log: (line: string) => (globalThis as any).__gitlabSoak.log(line),
    timeoutMs: 10_000,
  };
  const direct = process.argv.includes("--direct");
  const config = { "gitlab:baseUrl": fake.url, "gitlab:token": fake.token };
  const serialized: Record<Kind, string> = {
    key: PROVIDER_MARK,
    hook: PROVIDER_MARK,
    token: PROVIDER_MARK,
  };
  // The object the state's forwarder runs (components/gitlab/provider.ts `provider(kind)`, the
  // `migrating` wrapper included), with the soak's clock and log instead of real ones.
  type Provider = Required<dynamic.ResourceProvider>;
  async function asEngine(kind: Kind, provider: dynamic.ResourceProvider): Promise<Provider> {
    if (direct) {
      await provider.configure!({ config: new Config(config, "soak") });
      return provider as Provider;
    }
    const { text } = await pulumi.runtime.serializeFunction(() => provider, {
      allowSecrets: true,
    });
    serialized[kind] = text;
    const loaded = requireFromString(text).handler() as Provider;
    await loaded.configure({ config: new Config(config, "soak") });
    return loaded;
  }
  const providers = {
    key: await asEngine("key", gitlabProvider("DeployKey", { client: hooks, env: {} })),
    hook: await asEngine("hook", gitlabProvider("ProjectHook", { client: hooks, env: {} })),
    token: await asEngine(
      "token",
      gitlabProvider("ProjectAccessToken", { client: hooks, env: {} }),
    ),
  };
  /**
   * What the host stores: a result's properties plus the `__provider` it ran with
   * (cmd/dynamic-provider/index.ts `resultIncludingProvider`, on check, create, read, update;
   * not on a partial create's properties).
   */
  const withProvider = (kind: Kind, props: unknown): Props => ({
    ...(props as Props),
    __provider: serialized[kind],
  });

  // ---- faults ------------------------------------------------------------------------------
  let faultsOn = true;
  let faults = 0;
  let opFaulted = false;
  const hookTokens = new Set<string>();
  fake.faults = (request: RecordedRequest): InjectedResponse | undefined => {
    expectedWait = undefined;
    if (!faultsOn || rng() >= faultRate) return undefined;
    faults++;
    opFaulted = true;
    const write = request.method !== "GET";
    const roll = rng();
    const seconds = 1 + Math.floor(rng() * 40);
    if (roll < 0.12) {
      expectedWait = seconds * 1000;
      return {
        status: 429,
        body: { message: "429 Too Many Requests" },
        headers: { "Retry-After": String(seconds) },
      };
    }
    if (roll < 0.2) {
      const reset = Math.ceil(clock / 1000) + seconds;
      expectedWait = reset * 1000 - clock;
      return { status: 429, body: "Retry later\n", headers: { "RateLimit-Reset": String(reset) } };
    }
    if (roll < 0.26) return { status: 429, body: { message: "429 Too Many Requests" } };
    if (roll < 0.36)
      return { status: pick([500, 502, 503, 504]), body: "<html>proxy error</html>" };
    if (roll < 0.44) return { status: 0, drop: true };
    if (roll < 0.48) return { status: 200, body: "<!DOCTYPE html><title>Sign in</title>" };
    // The write reached GitLab and was applied; the answer is lost on the way back.
    if (roll < 0.64) return { status: 0, drop: true, apply: true };
    if (roll < 0.84)
      return { status: pick([502, 503, 504]), body: "<html>Gateway</html>", apply: true };
    if (write) {
      return {
        status: 301,
        headers: { Location: fake.url.replace(/^http:/, "https:") + request.rawPath },
        apply: true,
      };
    }
    return { status: 503, body: { message: "503 Service Unavailable" } };
  };

  // ---- the program: what each slot should be ------------------------------------------------
  const desired = new Map<string, Props | undefined>();
  const generation = new Map<string, number>();
  const KINDS: Kind[] = ["key", "hook", "token"];
  const kindOf = (slot: string): Kind => KINDS[Number(slot.slice(1)) % KINDS.length];
  const rotation = () => {
    const expirationDays = 20 + Math.floor(rng() * 300);
    return { expirationDays, rotateBeforeDays: 1 + Math.floor(rng() * 15) };
  };
  const next = (slot: string) => {
    const value = (generation.get(slot) ?? 0) + 1;
    generation.set(slot, value);
    return value;
  };
  function fresh(slot: string): Props {
    const gen = next(slot);
    if (kindOf(slot) === "token") {
      return {
        project: pick(PROJECTS),
        name: `soak ${slot} ${gen}`,
        scopes: ["api"],
        accessLevel: pick(["developer", "reporter"]),
        rotationConfiguration: rotation(),
      };
    }
    if (kindOf(slot) === "key") {
      const comment = pick(["", "tekton", "CI deploy key for app"]);
      return {
        project: pick(PROJECTS),
        title: `soak ${slot} ${gen}`,
        key: fakePublicKey(`${seed}-${slot}-${gen}`, comment),
        canPush: rng() < 0.5,
      };
    }
    const token = `hook-secret-${seed}-${slot}-${gen}`;
    hookTokens.add(token);
    return {
      project: pick(PROJECTS),
      url: `https://tekton.example.com/hooks/${slot}-${gen}`,
      token,
      pushEvents: true,
      pushEventsBranchFilter: rng() < 0.5 ? "main" : undefined,
      enableSslVerification: true,
      mergeRequestsEvents: false,
      tagPushEvents: false,
    };
  }
  function changeInPlace(slot: string, props: Props): Props {
    const gen = next(slot);
    if (kindOf(slot) === "token") {
      // An explicit expiry rotates at once; back to a rotation configuration rotates if due.
      return props.expiresAt === undefined && rng() < 0.5
        ? {
            ...props,
            rotationConfiguration: undefined,
            expiresAt: new Date(clock + (10 + (gen % 300)) * DAY_MS).toISOString().slice(0, 10),
          }
        : { ...props, expiresAt: undefined, rotationConfiguration: rotation() };
    }
    if (kindOf(slot) === "key") {
      return rng() < 0.5
        ? { ...props, canPush: !props.canPush }
        : { ...props, title: `soak ${slot} ${gen}` };
    }
    if (rng() < 0.5) {
      const token = `hook-secret-${seed}-${slot}-${gen}`;
      hookTokens.add(token);
      return { ...props, token };
    }
    return { ...props, mergeRequestsEvents: !props.mergeRequestsEvents };
  }
  function changeReplacing(slot: string, props: Props): Props {
    const gen = next(slot);
    if (rng() < 0.3)
      return { ...props, project: pick(PROJECTS.filter((p) => p !== props.project)) };
    if (kindOf(slot) === "token") {
      return rng() < 0.5
        ? { ...props, name: `soak ${slot} ${gen}` }
        : { ...props, accessLevel: props.accessLevel === "developer" ? "reporter" : "developer" };
    }
    if (kindOf(slot) === "key") {
      return rng() < 0.5
        ? { ...props, key: fakePublicKey(`${seed}-${slot}-${gen}`, "rotated") }
        : { ...props, expiresAt: `${2040 + (gen % 50)}-01-31` };
    }
    return { ...props, url: `https://tekton.example.com/hooks/${slot}-${gen}` };
  }

  // ---- the engine ---------------------------------------------------------------------------
  const state = new Map<string, StateEntry>();
  const pendingDeletes: StateEntry[] = [];
  let failedOps = 0;

  const compact = (props: Props) =>
    Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));

  async function create(slot: string, kind: Kind, news: Props): Promise<StateEntry> {
    const provider = providers[kind];
    const checked = await provider.check(
      {},
      viaStruct({ ...compact(news), __provider: serialized[kind] }),
    );
    assert.deepEqual(checked.failures, [], `check failed for ${slot}`);
    const inputs = viaStruct(withProvider(kind, checked.inputs)) as Props;
    try {
      const result = await provider.create(inputs as never);
      return { kind, id: result.id, inputs, outputs: viaStruct(withProvider(kind, result.outs)) };
    } catch (error) {
      const partial = error as { id?: string; properties?: Props };
      if (partial.id) {
        // ErrorResourceInitFailed: the engine records the resource and reports the error.
        state.set(slot, {
          kind,
          id: partial.id,
          inputs,
          outputs: viaStruct(partial.properties ?? {}),
          partial: true,
        });
      }
      throw error;
    }
  }

  async function destroyEntry(entry: StateEntry): Promise<void> {
    await providers[entry.kind].delete(entry.id, entry.outputs as never);
  }

  async function retryPendingDeletes(): Promise<void> {
    for (const entry of [...pendingDeletes]) {
      await destroyEntry(entry);
      pendingDeletes.splice(pendingDeletes.indexOf(entry), 1);
    }
  }

  /** One `pulumi up` step for one resource; returns what it did. */
  async function up(slot: string): Promise<string> {
    await retryPendingDeletes();
    const kind = kindOf(slot);
    const provider = providers[kind];
    const want = desired.get(slot);
    const have = state.get(slot);
    if (!want && !have) return "noop";
    if (!want && have) {
      await destroyEntry(have);
      state.delete(slot);
      return "delete";
    }
    if (want && !have) {
      state.set(slot, await create(slot, kind, want));
      return "create";
    }
    const old = have!;
    const checked = await provider.check(
      old.inputs,
      viaStruct({ ...compact(want!), __provider: serialized[kind] }),
    );
    const news = viaStruct(withProvider(kind, checked.inputs)) as Props;
    const diff = await provider.diff(old.id, old.outputs as never, news as never);
    const replaces = diff.replaces ?? [];
    if (!diff.changes && !old.partial) return "noop";
    if (replaces.length === 0) {
      let result: { outs?: unknown };
      try {
        result = await provider.update(old.id, old.outputs as never, news as never);
      } catch (error) {
        // A partial failure of an update: the engine stores the properties it carries
        // (pkg/resource/deploy/step.go UpdateStep.Apply).
        const partial = error as { id?: string; properties?: Props };
        if (partial.id) {
          state.set(slot, { ...old, inputs: news, outputs: viaStruct(partial.properties ?? {}) });
        }
        throw error;
      }
      state.set(slot, {
        ...old,
        inputs: news,
        outputs: viaStruct(withProvider(kind, result.outs)),
        partial: false,
      });
      if (kind !== "token") return "update";
      const outs = result.outs as Props;
      // No GitLab call when only the rotation configuration changed; a token that expired
      // before any up rotated it is created anew (a new marker).
      if (outs.tokenId === old.outputs.tokenId) return "update-config";
      return outs.createMarker === old.outputs.createMarker ? "update" : "update-renew";
    }
    if (diff.deleteBeforeReplace) {
      await destroyEntry(old);
      state.delete(slot);
      state.set(slot, await create(slot, kind, want!));
      return "replace";
    }
    try {
      state.set(slot, await create(slot, kind, want!));
    } catch (error) {
      if (state.get(slot) !== old) pendingDeletes.push(old); // partial new one recorded
      throw error;
    }
    try {
      await destroyEntry(old);
    } catch (error) {
      pendingDeletes.push(old);
      throw error;
    }
    return "replace";
  }

  async function refresh(slot: string): Promise<string> {
    const entry = state.get(slot);
    if (!entry) return "noop";
    const result = await providers[entry.kind].read(entry.id, entry.outputs as never);
    if (!result.id) state.delete(slot);
    else state.set(slot, { ...entry, outputs: viaStruct(withProvider(entry.kind, result.props)) });
    return "refresh";
  }

  // ---- measurement --------------------------------------------------------------------------
  let postRetries = 0;
  const cost = new Map<string, { ops: number; requests: number }>();
  const tokenCost = new Map<string, { ops: number; requests: number }>();
  let tokenCostOff = 0;
  // Requests per access token operation without faults: create 1; a rotation GET + POST rotate
  // (+ a list when the state's token was already rotated); delete a list + one revoke (+ one
  // for a successor); refresh a GET (+ a list to follow a successor); a token that expired
  // before it was rotated: GET, list, create, then a GET and a revoke of the expired one (only
  // the GET when GitLab no longer has it).
  const TOKEN_COST: Record<string, number[]> = {
    create: [1],
    update: [2, 3],
    "update-config": [0],
    "update-renew": [4, 5],
    replace: [3, 4],
    delete: [2, 3],
    refresh: [1, 2],
    noop: [0],
  };
  async function operation(body: () => Promise<string>, resource?: Kind): Promise<void> {
    const first = fake.requests.length;
    opFaulted = false;
    // Work left over from earlier failures (a pending delete, a partially created resource)
    // adds requests the engine makes too; such operations are kept out of the cost figures.
    const leftovers = pendingDeletes.length > 0 || [...state.values()].some((e) => e.partial);
    let kind = "error";
    try {
      kind = await body();
    } catch (error) {
      failedOps++;
      errors.push(error as Error);
      if (process.env.SOAK_DEBUG && !faultsOn)
        console.error(`after faults: ${(error as Error).message}`);
    }
    const requests = fake.requests.slice(first);
    const seenPosts = new Map<string, number | undefined>();
    for (const request of requests) {
      // A rotate is sent again only after GitLab's own list showed the token still active (the
      // first was not applied): not a blind retry.
      if (request.method === "GET" && request.rawPath.endsWith("/access_tokens")) {
        for (const key of [...seenPosts.keys()])
          if (key.includes("/rotate ")) seenPosts.delete(key);
      }
      if (request.method !== "POST") continue;
      const signature = `${request.rawPath} ${JSON.stringify(request.body)}`;
      const previous = seenPosts.get(signature);
      if (seenPosts.has(signature) && previous !== 429) postRetries++;
      seenPosts.set(signature, request.status);
    }
    if (!opFaulted && !leftovers && kind !== "error") {
      if (resource === "token") {
        const allowed = TOKEN_COST[kind] ?? [];
        if (!allowed.includes(requests.length)) {
          tokenCostOff++;
          if (process.env.SOAK_DEBUG) {
            console.error(`token ${kind}: ${requests.map((r) => `${r.method} ${r.rawPath}`)}`);
          }
        }
        const entry = tokenCost.get(kind) ?? { ops: 0, requests: 0 };
        entry.ops++;
        entry.requests += requests.length;
        tokenCost.set(kind, entry);
        return;
      }
      const entry = cost.get(kind) ?? { ops: 0, requests: 0 };
      entry.ops++;
      entry.requests += requests.length;
      cost.set(kind, entry);
    }
  }

  function inGitLab(): { id: string; kind: Kind; url?: string; project: string }[] {
    const objects: { id: string; kind: Kind; url?: string; project: string }[] = [];
    for (const project of PROJECTS) {
      // Live tokens only: an expired or revoked token grants nothing.
      for (const token of fake.activeAccessTokensOf(project)) {
        objects.push({
          id: `${project}:${token.id}`,
          kind: "token",
          url: String(token.name).replace(/ \[pulumi-[0-9a-f]+\]$/, ""),
          project,
        });
      }
      for (const key of fake.deployKeysOf(project))
        objects.push({ id: `${project}:${key.id}`, kind: "key", project });
      for (const hook of fake.hooksOf(project)) {
        objects.push({ id: `${project}:${hook.id}`, kind: "hook", url: String(hook.url), project });
      }
    }
    return objects;
  }

  // ---- run ----------------------------------------------------------------------------------
  const slots = Array.from({ length: SLOTS }, (_, i) => `r${i}`);
  for (let op = 0; op < opsWanted; op++) {
    const slot = pick(slots);
    const current = desired.get(slot);
    const roll = rng();
    const kind = kindOf(slot);
    if (rng() < 0.05) {
      // Days pass between two runs: access tokens come due for rotation, or expire.
      clock += (1 + Math.floor(rng() * 40)) * DAY_MS;
    }
    if (!current) {
      desired.set(slot, fresh(slot));
      await operation(() => up(slot), kind);
    } else if (roll < 0.3) {
      desired.set(slot, changeInPlace(slot, current));
      await operation(() => up(slot), kind);
    } else if (roll < 0.5) {
      desired.set(slot, changeReplacing(slot, current));
      await operation(() => up(slot), kind);
    } else if (roll < 0.65) {
      desired.set(slot, undefined);
      await operation(() => up(slot), kind);
    } else if (roll < 0.85) {
      await operation(() => refresh(slot), kind);
    } else {
      await operation(() => up(slot), kind);
    }
  }

  // Faults off: converge (two ups per resource), then check what the state says.
  faultsOn = false;
  for (let round = 0; round < 2; round++) {
    for (const slot of slots) await operation(() => up(slot), kindOf(slot));
  }
  const objects = inGitLab();
  const ids = new Set(objects.map((o) => o.id));
  const tracked = [...state.values(), ...pendingDeletes];
  // A token's resource id names its first token; `tokenId` names the live one.
  const trackedId = (e: StateEntry) =>
    e.kind === "token" ? `${e.id.slice(0, e.id.lastIndexOf(":"))}:${e.outputs.tokenId}` : e.id;
  const trackedIds = new Set(tracked.map(trackedId));
  const ghosts = tracked.filter((e) => !ids.has(trackedId(e))).length;
  const orphans = objects.filter((o) => !trackedIds.has(o.id)).length;
  const urls = objects.filter((o) => o.kind === "hook").map((o) => `${o.project} ${o.url}`);
  // Two live tokens with one name (a slot's generation) on a project: a duplicate.
  const tokenNames = objects.filter((o) => o.kind === "token").map((o) => `${o.project} ${o.url}`);
  const duplicates =
    urls.length - new Set(urls).size + tokenNames.length - new Set(tokenNames).size;
  const liveTokens = tokenNames.length;
  // Drift: after a refresh, does the program still differ from GitLab?
  let drift = 0;
  for (const slot of slots) await operation(() => refresh(slot), kindOf(slot));
  for (const slot of slots) {
    const entry = state.get(slot);
    const want = desired.get(slot);
    if (!entry || !want) {
      if (!entry !== !want) {
        drift++;
        if (process.env.SOAK_DEBUG) console.error(JSON.stringify({ slot, entry, want }));
      }
      continue;
    }
    const checked = await providers[entry.kind].check(
      entry.inputs,
      viaStruct(withProvider(entry.kind, compact(want))),
    );
    const diff = await providers[entry.kind].diff(
      entry.id,
      entry.outputs as never,
      withProvider(entry.kind, checked.inputs) as never,
    );
    if (diff.changes) {
      drift++;
      if (process.env.SOAK_DEBUG) {
        console.error(JSON.stringify({ slot, diff, outputs: entry.outputs, want: checked.inputs }));
      }
    }
  }

  // Destroy.
  for (const slot of slots) desired.set(slot, undefined);
  for (const slot of slots) await operation(() => up(slot), kindOf(slot));
  await operation(async () => (await retryPendingDeletes(), "noop"));
  const left = inGitLab().length + state.size + pendingDeletes.length;

  // Token leaks: the API token, a hook token or an access token's value in any error or log line.
  const accessTokenValues: string[] = [];
  let accessTokensIssued = 0;
  for (const project of PROJECTS) {
    for (const token of fake.accessTokensOf(project)) {
      accessTokensIssued++;
      const value = fake.accessTokenValue(project, token.id as number);
      if (value) accessTokenValues.push(value);
    }
  }
  const secrets = [fake.token, ...hookTokens, ...accessTokenValues];
  const texts = [...errors.map((e) => `${e.message}\n${e.stack ?? ""}`), ...logs];
  const leaks = texts.filter((text) => secrets.some((s) => text.includes(s))).length;
  await fake.close();
  if (process.env.SOAK_ERRORS) {
    // What the failed operations were, by the end of their message (stderr, not the summary).
    const kinds = new Map<string, number>();
    for (const error of errors) {
      const message = error.message
        .replace(/\d+/g, "N")
        .replace(/"[^"]*"/g, '"…"')
        .replace(/pulumi-(create-)?[0-9a-fN]{16}/g, "marker")
        .slice(0, 160);
      kinds.set(message, (kinds.get(message) ?? 0) + 1);
    }
    for (const [message, count] of [...kinds].sort((a, b) => b[1] - a[1])) {
      console.error(`${String(count).padStart(4)}  ${message}`);
    }
  }

  const perOp = (kind: string) => {
    const entry = cost.get(kind);
    return entry ? (entry.requests / entry.ops).toFixed(2) : "-";
  };
  const totalOps = [...cost.values()].reduce((n, e) => n + e.ops, 0);
  // 1 request per create/update/delete/refresh, 2 per replace, 0 when nothing changed.
  const expectedCost: Record<string, number> = {
    create: 1,
    update: 1,
    replace: 2,
    delete: 1,
    refresh: 1,
    noop: 0,
  };
  const costOk = [...cost.entries()].every(
    ([kind, entry]) => entry.requests === expectedCost[kind] * entry.ops,
  );
  const tokenPerOp = (kind: string) => {
    const entry = tokenCost.get(kind);
    return entry ? `${(entry.requests / entry.ops).toFixed(2)} (n=${entry.ops})` : "-";
  };
  const ok =
    costOk &&
    tokenCostOff === 0 &&
    orphans === 0 &&
    duplicates === 0 &&
    ghosts === 0 &&
    leaks === 0 &&
    postRetries === 0 &&
    waitMismatches === 0 &&
    drift === 0 &&
    left === 0;
  console.log(
    `soak seed=${seed} ops=${opsWanted} fault-rate=${faultRate} providers=` +
      `${direct ? "direct" : `serialized(${serialized.key.length}+${serialized.hook.length}+${serialized.token.length} chars)`}: ` +
      `faults=${faults} ` +
      `errors=${failedOps} orphans=${orphans} duplicates=${duplicates} ghosts=${ghosts} ` +
      `token-leaks=${leaks} post-retries=${postRetries} wait-mismatches=${waitMismatches} ` +
      `drift=${drift} requests/op(no fault, n=${totalOps}): create ${perOp("create")}, ` +
      `update ${perOp("update")}, replace ${perOp("replace")}, delete ${perOp("delete")}, ` +
      `refresh ${perOp("refresh")}, unchanged ${perOp("noop")}; ` +
      `access tokens: issued=${accessTokensIssued} live-before-destroy=${liveTokens} ` +
      `requests/op create ${tokenPerOp("create")}, rotate ${tokenPerOp("update")}, ` +
      `renew ${tokenPerOp("update-renew")}, config-only ${tokenPerOp("update-config")}, ` +
      `replace ${tokenPerOp("replace")}, delete ${tokenPerOp("delete")}, ` +
      `refresh ${tokenPerOp("refresh")}${tokenCostOff ? ` (${tokenCostOff} off)` : ""}; ` +
      `${costOk ? "" : "(request counts off) "}left-after-destroy=${left} ${ok ? "OK" : "FAILED"}`,
  );
  return ok ? 0 : 1;
}

const limit = setTimeout(() => {
  console.error(`soak: stopped after the ${HARD_LIMIT_MS / 1000}s time limit`);
  process.exit(2);
}, HARD_LIMIT_MS);
limit.unref();

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`soak: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(2);
  },
);
