// `npm run render -- [--stack dev] [--out rendered]`: writes every Tekton object of the build
// pipelines of `Pulumi.<stack>.yaml` as YAML, one file per object, without a cluster, the Pulumi
// CLI or GitLab. For code review and linting; Secrets are not rendered.
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { ConfigError, NAMESPACE, parseStackConfig } from "../config/load";
import { parseStackFile } from "../config/stackFile";
import { renderManifests } from "../tekton/render";

/** Marks a directory as written by this script, so a later run may replace it. */
export const RENDER_MARKER = ".tekton-gitlab-render";

/** Stand-in for a secret the stack file holds encrypted; no rendered object contains it. */
export const SECRET_PLACEHOLDER = "placeholder-not-rendered";

export interface RenderArgs {
  stack: string;
  out: string;
}

export function parseArgs(argv: string[]): RenderArgs {
  const args: RenderArgs = { stack: "dev", out: "rendered" };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const [name, inline] = flag.startsWith("--") ? flag.slice(2).split(/=(.*)/s, 2) : [flag];
    if (name !== "stack" && name !== "out") {
      throw new Error(
        `unknown argument ${flag}; usage: npm run render -- [--stack dev] [--out dir]`,
      );
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value === "" || value.startsWith("--")) {
      throw new Error(
        `--${name} needs a value, e.g. --${name} ${name === "stack" ? "dev" : "rendered"}`,
      );
    }
    args[name] = value;
  }
  return args;
}

/**
 * Fills in the secrets `pulumi up` would decrypt (`gitlab:token`, and the registry password when
 * a registry user is configured) with a placeholder when they are absent, so every other
 * requirement is validated exactly as the program validates it. Present values are kept.
 */
export function withSecretPlaceholders(raw: Record<string, string>): Record<string, string> {
  const filled = { ...raw };
  filled["gitlab:token"] ??= SECRET_PLACEHOLDER;
  const registryKey = `${NAMESPACE}:registry`;
  let hasUsername = false;
  try {
    const registry = JSON.parse(raw[registryKey] ?? "null");
    hasUsername = registry !== null && typeof registry === "object" && "username" in registry;
  } catch {
    // Not JSON: parseStackConfig reports the key with its own message.
  }
  if (hasUsername) filled[`${NAMESPACE}:registryPassword`] ??= SECRET_PLACEHOLDER;
  return filled;
}

function prepareOutputDir(out: string): void {
  if (fs.existsSync(out)) {
    const entries = fs.readdirSync(out);
    if (entries.includes(RENDER_MARKER)) {
      fs.rmSync(out, { recursive: true, force: true });
    } else if (entries.length > 0) {
      throw new Error(
        `refusing to write into ${out}: it is not empty and was not written by npm run render ` +
          "(choose another --out or empty it)",
      );
    }
  }
  fs.mkdirSync(out, { recursive: true });
}

/**
 * Renders the stack's manifests into `args.out` (relative to `projectDir`); returns the files
 * written, relative to it. `env` is read as `pulumi up` reads it (GITLAB_BASE_URL).
 */
export function renderStack(
  args: RenderArgs,
  projectDir = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const stackFile = path.join(projectDir, `Pulumi.${args.stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    throw new Error(`no stack file ${stackFile} (is --stack ${args.stack} right?)`);
  }
  const raw = withSecretPlaceholders(parseStackFile(fs.readFileSync(stackFile, "utf8")));
  const manifests = renderManifests(parseStackConfig(raw, env));

  const out = path.resolve(projectDir, args.out);
  prepareOutputDir(out);
  for (const { path: file, manifest } of manifests) {
    const target = path.join(out, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, stringify(manifest, { lineWidth: 0, aliasDuplicateObjects: false }));
  }
  fs.writeFileSync(path.join(out, RENDER_MARKER), `rendered from ${path.basename(stackFile)}\n`);
  return manifests.map((m) => m.path);
}

function main(): void {
  try {
    const args = parseArgs(process.argv.slice(2));
    const files = renderStack(args);
    console.log(`wrote ${files.length} manifests for stack ${args.stack} to ${args.out}/`);
    for (const file of files) console.log(`  ${file}`);
  } catch (error) {
    console.error(
      error instanceof ConfigError ? error.message : `render: ${(error as Error).message}`,
    );
    process.exitCode = 1;
  }
}

if (require.main === module) main();
