// Shared by the GitLab tests: a client or provider wired to the fake server with recorded
// (not slept) retry waits, and checks that the API token never leaks.
import * as assert from "node:assert/strict";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import * as util from "node:util";
import { GitLabClient, GitLabClientOptions } from "../../components/gitlab/client";
import type { ProjectHookInputs } from "../../components/gitlab/projectHook";
import { GitLabProviderOptions } from "../../components/gitlab/providerConfig";
import { FakeGitLab } from "./fakeGitLab";

/** Everything the code under test logged and threw, to check for the token at the end. */
export const seen: { logs: string[]; errors: unknown[] } = { logs: [], errors: [] };

export interface Recorder {
  /** Unscaled waits the client asked for, in order. */
  sleeps: number[];
  logs: string[];
}

/** Client options that record waits instead of sleeping; jitter fixed at 0.5. */
export function recordingOptions(
  overrides: Partial<GitLabClientOptions> = {},
): Omit<GitLabClientOptions, "baseUrl" | "token"> & { recorder: Recorder } {
  const recorder: Recorder = { sleeps: [], logs: [] };
  return {
    recorder,
    sleep: async (ms) => {
      recorder.sleeps.push(ms);
    },
    random: () => 0.5,
    log: (line) => {
      recorder.logs.push(line);
      seen.logs.push(line);
    },
    ...overrides,
  };
}

export function clientFor(
  fake: FakeGitLab,
  overrides: Partial<GitLabClientOptions> = {},
): { client: GitLabClient; recorder: Recorder } {
  const { recorder, ...options } = recordingOptions(overrides);
  const client = new GitLabClient({
    baseUrl: overrides.baseUrl ?? fake.url,
    token: fake.token,
    ...options,
  });
  return { client, recorder };
}

/** Provider options pointing at the fake through the environment fallback. */
export function providerOptionsFor(
  fake: FakeGitLab,
  overrides: Partial<GitLabClientOptions> = {},
): GitLabProviderOptions & { recorder: Recorder } {
  const { recorder, ...client } = recordingOptions(overrides);
  return {
    recorder,
    client,
    env: { GITLAB_BASE_URL: fake.url, GITLAB_TOKEN: fake.token },
  };
}

/** Awaits a rejection, asserts it matches every pattern and does not contain the token. */
export async function rejection(
  promise: Promise<unknown>,
  token: string,
  ...patterns: RegExp[]
): Promise<Error & { status?: number }> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Error, "expected the call to reject with an Error");
  seen.errors.push(error);
  for (const pattern of patterns) assert.match(error.message, pattern);
  assertNoToken(error, token);
  return error as Error & { status?: number };
}

/** The token appears nowhere in the value's message, stack, inspection or JSON. */
export function assertNoToken(value: unknown, token: string): void {
  const texts = [
    util.inspect(value, { depth: 10, showHidden: false }),
    JSON.stringify(value) ?? "",
    String(value),
    (value as Error)?.stack ?? "",
  ];
  for (const text of texts) assert.ok(!text.includes(token), `token leaked into: ${text}`);
}

/**
 * Provider results travel to the engine as protobuf Structs; `undefined` anywhere makes the
 * provider host fail with "Unexpected struct type".
 */
export function assertStructEncodable(value: unknown): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const struct = require("google-protobuf/google/protobuf/struct_pb");
  assert.doesNotThrow(() => struct.Struct.fromJavaScript(value));
}

/**
 * Creates through a provider as the engine does: `check` first (it must report no failures),
 * then `create` with the checked inputs; the outputs must be Struct-encodable.
 */
export async function checkAndCreate<Inputs, Outputs>(
  provider: {
    check(olds: object, news: object): Promise<dynamic.CheckResult>;
    create(inputs: Inputs): Promise<dynamic.CreateResult<Outputs>>;
  },
  inputs: object,
): Promise<{ id: string; outs: Outputs }> {
  const checked = await provider.check({}, { ...inputs });
  assert.deepEqual(checked.failures, []);
  const result = await provider.create(checked.inputs as Inputs);
  assertStructEncodable(result.outs);
  return result as { id: string; outs: Outputs };
}

/**
 * Deletes what was taken from GitLab by hand (the project still there): one DELETE, whose 404
 * `answer` counts as done, and a refresh then drops the resource from the state.
 */
export async function assertDeleteOfGoneIsDone<Outputs>(
  fake: FakeGitLab,
  provider: {
    delete(id: string): Promise<void>;
    read(id: string, props?: Outputs): Promise<dynamic.ReadResult<Outputs>>;
  },
  created: { id: string; outs: Outputs },
  answer: string,
): Promise<void> {
  await provider.delete(created.id);
  assert.equal(fake.requestsOf("DELETE").length, 1, `${answer}: done`);
  assert.equal((await provider.read(created.id, created.outs)).id, "", "and a refresh drops it");
}

/** Runs `body` with console.error recorded (and silenced), returning the lines. */
export async function capturingStderr(body: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  try {
    await body();
  } finally {
    console.error = original;
  }
  seen.logs.push(...lines);
  return lines;
}

/**
 * In the calling `describe`: before each test a fresh fake GitLab holding `project`, handed to
 * `started` with provider options pointing at it, closed after the test; at the end, that no
 * log line or error the tests saw holds the fake's API token.
 */
export function fakeGitLabPerTest(
  project: string,
  started: (fake: FakeGitLab, options: ReturnType<typeof providerOptionsFor>) => void,
): void {
  let fake: FakeGitLab | undefined;
  beforeEach(async () => {
    fake = await FakeGitLab.start();
    fake.addProject(project);
    started(fake, providerOptionsFor(fake));
  });
  afterEach(async () => {
    await fake?.close();
  });
  after(() => {
    if (fake === undefined) return;
    for (const line of seen.logs) assert.ok(!line.includes(fake.token), `token in log: ${line}`);
    for (const error of seen.errors) assertNoToken(error, fake.token);
  });
}

/** Faults a proxy can turn a successful write into, whatever the resource. */
export const PROXY_FAULTS = [
  { label: "a dropped connection", fault: { drop: true, status: 0 } },
  { label: "502", fault: { status: 502, body: "<html>Bad Gateway</html>" } },
  { label: "503", fault: { status: 503, body: { message: "503 Service Unavailable" } } },
] as const;

export const HOOK_URL = "https://tekton.example.com/hooks/hello-python";
export const HOOK_TOKEN = "webhook-secret-abc123";

/** A webhook's checked inputs with @pulumi/gitlab's defaults, on `project`. */
export function hookInputs(
  project: string,
  overrides: Partial<ProjectHookInputs> = {},
): ProjectHookInputs {
  return {
    project,
    url: HOOK_URL,
    token: HOOK_TOKEN,
    pushEvents: true,
    enableSslVerification: true,
    mergeRequestsEvents: false,
    noteEvents: false,
    tagPushEvents: false,
    ...overrides,
  };
}
