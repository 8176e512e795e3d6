// Runs the stack program (index.ts) under the shared mocks with a given config and returns
// what it registered and exported. The program is a function, so one process can run it under
// many configs.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseStackFile } from "../../config/stackFile";
import { RegisteredResource, registered, resetRegistrations, resolve, settle } from "./mocks";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export interface ProgramRun {
  resources: RegisteredResource[];
  /** Stack outputs as the program returned them (Outputs inside). */
  outputs?: Record<string, any>;
  /** The same, resolved to plain values. */
  values?: Record<string, any>;
  error?: Error;
}

/**
 * Reads `Pulumi.<stack>.yaml` into the `key -> string` map Pulumi gives a program: structured
 * values as JSON, scalars as strings. `secure:` values are left out (tests supply their own).
 */
export function readStackConfig(stack = "dev", dir = REPO_ROOT): Record<string, string> {
  return parseStackFile(fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8"));
}

/** Secrets a test run of the example config needs (never real values). */
export const TEST_SECRETS: Record<string, string> = {
  "gitlab:token": "glpat-test-token-not-real",
  "tekton-gitlab:registryPassword": "test-registry-password",
};

/** The example stack's config plus test secrets, ready to modify per test. */
export function exampleConfig(stack = "dev"): Record<string, string> {
  return { ...readStackConfig(stack), ...TEST_SECRETS };
}

/** Returns a copy of a config map with one structured key changed by `edit`. */
export function withStructured(
  config: Record<string, string>,
  key: string,
  edit: (value: any) => any,
): Record<string, string> {
  const fullKey = `tekton-gitlab:${key}`;
  const current = config[fullKey] === undefined ? undefined : JSON.parse(config[fullKey]);
  const next = edit(current === undefined ? undefined : structuredClone(current));
  const copy = { ...config };
  if (next === undefined) delete copy[fullKey];
  else copy[fullKey] = JSON.stringify(next);
  return copy;
}

/**
 * Runs the program. Like the engine (pulumi pkg/resource/deploy/program_source.go passes
 * `Target.Config.SecureKeys()` as the runtime's PULUMI_CONFIG_SECRET_KEYS), the keys set with
 * `--secret` are marked secret: by default those of TEST_SECRETS present in `config`, or
 * exactly `secretKeys` when given.
 */
export async function runProgram(
  config: Record<string, string>,
  secretKeys: string[] = Object.keys(config).filter((key) => key in TEST_SECRETS),
): Promise<ProgramRun> {
  resetRegistrations();
  pulumi.runtime.setAllConfig(config, secretKeys);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program: () => Promise<Record<string, any>> = require("../../index");
  const run: ProgramRun = { resources: [] };
  // The program falls back to these for the GitLab connection; a developer's own must not leak
  // into a test's config.
  const saved = { url: process.env.GITLAB_BASE_URL, token: process.env.GITLAB_TOKEN };
  delete process.env.GITLAB_BASE_URL;
  delete process.env.GITLAB_TOKEN;
  try {
    run.outputs = await program();
    run.values = await resolve(run.outputs);
  } catch (error) {
    run.error = error as Error;
  } finally {
    if (saved.url !== undefined) process.env.GITLAB_BASE_URL = saved.url;
    if (saved.token !== undefined) process.env.GITLAB_TOKEN = saved.token;
  }
  await settle();
  run.resources = [...registered];
  return run;
}
