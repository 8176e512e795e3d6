// KANIKO STAND-IN. Kaniko cannot run here (it unpacks images over its own root filesystem and
// pushes to a registry). This program takes the executor's place at /kaniko/executor and does
// NOT build or push anything. It checks what the build step was given, the way the executor
// would read it (osscontainertools/kaniko v1.28.3 cmd/executor/cmd/root.go flags):
// - `--dockerfile` is a file and `--context` a directory;
// - `--destination` is <host>/<repository>:<tag>;
// - `--registry-certificate <host>=<path>`: the file parses as an X.509 certificate;
// - credentials: $DOCKER_CONFIG/config.json (Kaniko's default /kaniko/.docker otherwise) holds
//   `auths` for the destination's host;
// - no SSH private key anywhere this "pod" can read: its environment, and every directory the
//   runner mounted into it (REHEARSAL_MOUNTS, set by the runner, not by Tekton);
// - the Dockerfile's instructions are ones BuildKit's parser knows (a broken one fails the step
//   with exit code 1, as the executor does for any error: cmd/executor/main.go `main`);
// - `--no-push` (a merge request's build) needs no `--destination`, and nothing is pushed;
// then writes a digest, sha256 over the Dockerfile, the context's files and the destination, to
// `--digest-file`. What it saw goes to REHEARSAL_REPORT (a path outside the pod) for the
// scenarios to compare with the stack config; what a real executor would have pushed (the image,
// and cache layers under `--cache` unless `--no-push-cache`) is appended to REHEARSAL_REGISTRY,
// the rehearsal's stand-in for the registry.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The executor's flags (osscontainertools/kaniko v1.28.3 cmd/executor/cmd/root.go
 * `addKanikoOptionsFlags`, `AddRegistryOptionsFlags`): the executor refuses any other.
 */
const KANIKO_FLAGS = new Set(
  (
    "annotation bucket build-arg cache cache-copy-layers cache-dir cache-repo cache-run-layers " +
    "cache-ttl cleanup compressed-caching compression compression-level context " +
    "context-sub-path credential-helpers custom-platform destination digest-file dockerfile " +
    "dryrun force force-build-metadata git ignore-path ignore-var-run image-download-retry " +
    "image-format image-fs-extract-retry image-name-tag-with-digest-file " +
    "image-name-with-digest-file insecure insecure-pull insecure-registry kaniko-dir label " +
    "log-format log-timestamp materialize no-push no-push-cache oci-layout-path pre-cleanup " +
    "preserve-context push-ignore-immutable-tag-errors push-retry registry-certificate " +
    "registry-client-cert registry-map registry-mirror reproducible secret single-snapshot " +
    "skip-default-registry-fallback skip-push-permission-check skip-tls-verify " +
    "skip-tls-verify-pull skip-tls-verify-registry skip-unused-stages snapshot-mode tar-path " +
    "target use-new-run verbosity whitelist-var-run"
  ).split(" "),
);

function flags(argv: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const arg of argv) {
    const match = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new Error(`unexpected argument ${arg} (the step passes --flag=value only)`);
    if (!KANIKO_FLAGS.has(match[1])) throw new Error(`unknown flag: --${match[1]}`);
    (out[match[1]] ??= []).push(match[2] ?? "true");
  }
  return out;
}

function walk(dir: string, files: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, files);
    else if (entry.isFile()) files.push(full);
  }
  return files.sort();
}

const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * The instructions of moby/buildkit frontend/dockerfile/instructions/parse.go
 * `ParseInstructionWithLinter` (vendored by kaniko v1.28.3); any other is "unknown instruction".
 */
const INSTRUCTIONS = new Set(
  (
    "add arg cmd copy entrypoint env expose from healthcheck label maintainer onbuild run shell " +
    "stopsignal user volume workdir"
  ).split(" "),
);

/** The first line whose instruction is unknown, as BuildKit's parser words it; none: "". */
function dockerfileError(text: string): string {
  const lines = text.split("\n");
  let continued = false;
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trim();
    const wasContinued = continued;
    continued = trimmed.endsWith("\\");
    if (wasContinued || trimmed === "" || trimmed.startsWith("#")) continue;
    const word = trimmed.split(/\s+/)[0];
    if (!INSTRUCTIONS.has(word.toLowerCase())) {
      return `dockerfile parse error on line ${index + 1}: unknown instruction: ${word}`;
    }
  }
  return "";
}

function main(): number {
  const args = flags(process.argv.slice(2));
  const one = (name: string) => {
    const values = args[name];
    if (!values || values.length !== 1) throw new Error(`--${name} must be given once`);
    return values[0];
  };
  const problems: string[] = [];
  const dockerfile = one("dockerfile");
  const context = one("context");
  const noPush = args["no-push"]?.[0] === "true";
  // root.go `RootCmd` PersistentPreRunE: "you must provide --destination, or use --no-push".
  const destination = noPush && !args.destination ? "" : one("destination");
  const digestFile = one("digest-file");
  if (!fs.statSync(dockerfile, { throwIfNoEntry: false })?.isFile()) {
    problems.push(`--dockerfile ${dockerfile} is not a file`);
  }
  if (!fs.statSync(context, { throwIfNoEntry: false })?.isDirectory()) {
    problems.push(`--context ${context} is not a directory`);
  }
  const dest = /^([^/]+)\/(.+):([^:/@]+)$/.exec(destination);
  if (!dest && destination !== "") {
    problems.push(`--destination ${destination} is not <host>/<repository>:<tag>`);
  }
  const host = dest?.[1] ?? "";

  const caFor: Record<string, boolean> = {};
  for (const value of args["registry-certificate"] ?? []) {
    const [certHost, file] = value.split(/=(.*)/s, 2);
    try {
      new crypto.X509Certificate(fs.readFileSync(file));
      caFor[certHost] = true;
    } catch (error) {
      problems.push(`--registry-certificate ${value}: ${(error as Error).message}`);
    }
  }
  const dockerConfig = path.join(process.env.DOCKER_CONFIG ?? "/kaniko/.docker", "config.json");
  let credentials = false;
  try {
    credentials = host in (JSON.parse(fs.readFileSync(dockerConfig, "utf8")).auths ?? {});
  } catch {
    credentials = false;
  }

  const gitKeys: string[] = [];
  for (const [name, value] of Object.entries(process.env)) {
    if (name !== "REHEARSAL_MOUNTS" && value && PRIVATE_KEY.test(value))
      gitKeys.push(`env ${name}`);
  }
  const mounts: string[] = JSON.parse(process.env.REHEARSAL_MOUNTS ?? "[]");
  for (const mount of mounts) {
    if (!fs.existsSync(mount)) continue;
    for (const file of walk(mount)) {
      if (file.includes(`${path.sep}.git${path.sep}objects${path.sep}`)) continue;
      const stat = fs.statSync(file);
      if (stat.size < 1 << 20 && PRIVATE_KEY.test(fs.readFileSync(file, "latin1")))
        gitKeys.push(file);
    }
  }
  if (gitKeys.length > 0)
    problems.push(`an SSH private key is readable in the build pod: ${gitKeys.join(", ")}`);

  const parseError = fs.existsSync(dockerfile)
    ? dockerfileError(fs.readFileSync(dockerfile, "utf8"))
    : "";
  if (parseError) problems.push(`error building image: ${parseError}`);
  // What a real executor would push: the image unless --no-push, cache layers unless
  // --no-push-cache (pkg/executor/push.go `DoPush`, `pushLayerToCache`).
  const pushed = [
    ...(noPush ? [] : [destination]),
    ...(args.cache?.[0] === "true" && args["no-push-cache"]?.[0] !== "true"
      ? (args["cache-repo"] ?? []).map((repo) => `${repo} (cache)`)
      : []),
  ];
  const report = {
    destination,
    noPush,
    noPushCache: args["no-push-cache"]?.[0] === "true",
    pushed: problems.length === 0 ? pushed : [],
    registryHost: host,
    registryCa: caFor[host] === true,
    registryCredentials: credentials,
    gitKeys,
    problems,
  };
  if (process.env.REHEARSAL_REPORT)
    fs.writeFileSync(process.env.REHEARSAL_REPORT, JSON.stringify(report));
  console.log(
    `kaniko stand-in (no build, no push): ${destination || "--no-push"}; registry CA: ${report.registryCa ? "yes" : "no"}; credentials: ${credentials ? "yes" : "no"}; git keys visible: ${gitKeys.length}`,
  );
  if (problems.length > 0) {
    for (const problem of problems) console.error(`kaniko stand-in: ${problem}`);
    return 1;
  }
  const hash = crypto.createHash("sha256");
  hash.update(fs.readFileSync(dockerfile));
  for (const file of walk(context)) {
    hash.update(path.relative(context, file));
    hash.update(fs.readFileSync(file));
  }
  hash.update(destination);
  const digest = `sha256:${hash.digest("hex")}`;
  // pkg/executor/push.go `DoPush`: the digest alone; the name files end in a newline each.
  fs.writeFileSync(digestFile, digest);
  if (process.env.REHEARSAL_REGISTRY && pushed.length > 0) {
    fs.appendFileSync(process.env.REHEARSAL_REGISTRY, pushed.map((p) => `${p}\n`).join(""));
  }
  const repository = destination.slice(0, destination.lastIndexOf(":"));
  const withName = args["image-name-with-digest-file"]?.[0];
  if (withName) fs.writeFileSync(withName, `${repository}@${digest}\n`);
  const withTag = args["image-name-tag-with-digest-file"]?.[0];
  if (withTag) fs.writeFileSync(withTag, `${destination}@${digest}\n`);
  return 0;
}

try {
  process.exitCode = main();
} catch (error) {
  console.error(`kaniko stand-in: ${(error as Error).message}`);
  process.exitCode = 1;
}
