// `npm run rehearse`: a push rehearsed offline. The stack program runs under the test mocks
// (tests/harness) with real ED25519 keys; the Tasks, Pipeline, TriggerTemplate, Secrets and
// ConfigMaps it registers are run by a small Tekton emulator (runner.ts) against a real sshd
// (sshd.ts) serving bare repositories made from examples/. Prints one line per scenario, then
// `rehearsal: N passed, M failed`; exits non-zero on any failure. Everything lives under one
// directory in os.tmpdir(), removed at the end; every process it starts is stopped.
import "../harness/mocks";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ts from "typescript";
import { useKeyMaterial } from "../harness/mocks";
import { exampleConfig, REPO_ROOT, runProgram, withStructured } from "../harness/program";
import { kubectlVersion, prepareImages, which } from "./images";
import { Ed25519Key, generateEd25519 } from "./keys";
import { Cluster, PipelineRunRecord, runPipelineRun, RunOptions } from "./runner";
import { freePort, GIT_USER, giveToGitUser, startSshd, Sshd } from "./sshd";
import { substituteDeep } from "./substitution";

const OVERALL_TIMEOUT_MS = Number(process.env.REHEARSAL_TIMEOUT_MS ?? 300_000);
const STEP_TIMEOUT_MS = 60_000;

const processes = new Set<number>();
/** The rehearsal's one directory under os.tmpdir(), removed whatever happens. */
let rehearsalRoot: string | undefined;
const track = (pid: number) => processes.add(pid);
const untrack = (pid: number) => processes.delete(pid);

function stopAll(): void {
  for (const pid of processes) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  processes.clear();
}

/** Global git config of the developer and admin commands the scenarios run as root. */
let developerConfig = "/dev/null";

function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: "1",
      // The repositories belong to the git user; root reads them as GitLab's admin would.
      GIT_CONFIG_GLOBAL: developerConfig,
      GIT_AUTHOR_NAME: "developer",
      GIT_AUTHOR_EMAIL: "developer@example.invalid",
      GIT_COMMITTER_NAME: "developer",
      GIT_COMMITTER_EMAIL: "developer@example.invalid",
      ...env,
    },
  }).trim();
}

/** Everything the program registered that the emulator and the "GitLab" need. */
function clusterOf(resources: { type: string; inputs: any }[]): {
  cluster: Cluster;
  triggerTemplates: any[];
  triggerBindings: any[];
  deployKeys: { project: string; key: string; canPush: boolean }[];
} {
  const byName = (type: string) =>
    Object.fromEntries(
      resources.filter((r) => r.type === type).map((r) => [r.inputs.metadata.name, r.inputs]),
    );
  return {
    cluster: {
      tasks: byName("kubernetes:tekton.dev/v1:Task"),
      pipelines: byName("kubernetes:tekton.dev/v1:Pipeline"),
      serviceAccounts: byName("kubernetes:core/v1:ServiceAccount"),
      secrets: byName("kubernetes:core/v1:Secret"),
      configMaps: byName("kubernetes:core/v1:ConfigMap"),
    },
    triggerTemplates: resources
      .filter((r) => r.type === "kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate")
      .map((r) => r.inputs),
    triggerBindings: resources
      .filter((r) => r.type === "kubernetes:triggers.tekton.dev/v1beta1:TriggerBinding")
      .map((r) => r.inputs),
    deployKeys: resources
      .filter((r) => r.type.startsWith("pulumi-nodejs:") && typeof r.inputs.key === "string")
      .map((r) => ({
        project: r.inputs.project,
        key: r.inputs.key,
        canPush: r.inputs.canPush === true,
      })),
  };
}

/** A JSON path `a.b.c` into the push event body. */
function lookup(body: any, dotted: string): string {
  return dotted.split(".").reduce((value, key) => value?.[key], body);
}

/**
 * What Triggers makes of a push: TriggerBinding params from the event body (`$(body.*)`), the
 * CEL overlay's `$(extensions.*)` given by the caller (CEL is not evaluated here), then the
 * TriggerTemplate's `$(tt.params.*)` in its PipelineRun (triggers pkg/template `ResolveResources`).
 */
function pipelineRunFor(world: World, body: any, extensions: Record<string, string>): any {
  const params: Record<string, string> = {};
  for (const binding of world.triggerBindings) {
    for (const param of binding.spec.params ?? []) {
      params[param.name] = String(param.value).replace(
        /\$\((body|extensions)\.([^)]+)\)/g,
        (_, where, key) => (where === "body" ? lookup(body, key) : extensions[key]),
      );
    }
  }
  const template = world.triggerTemplates[0];
  const replacements: Record<string, string> = {};
  for (const spec of template.spec.params ?? []) {
    replacements[`tt.params.${spec.name}`] = params[spec.name] ?? spec.default ?? "";
  }
  const run = substituteDeep(structuredClone(template.spec.resourcetemplates[0]), replacements);
  run.metadata.name = `${run.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
  return run;
}

interface World {
  root: string;
  port: number;
  sshd: Sshd;
  cluster: Cluster;
  triggerTemplates: any[];
  triggerBindings: any[];
  options: RunOptions;
  sourceProject: string;
  operationsProject: string;
  deploymentFile: string;
  containerName: string;
  work: string;
  commits: number;
  secrets: { pull: string; write: string; registryPassword: string };
}

function push(world: World, message: string): string {
  world.commits += 1;
  fs.appendFileSync(path.join(world.work, "source", "app.py"), `# ${message}\n`);
  const date = new Date(Date.UTC(2026, 0, 1, 0, world.commits)).toISOString();
  git(world.work, ["add", "-A"]);
  git(world.work, ["commit", "--quiet", "-m", message], {
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  });
  git(world.work, ["push", "--quiet", "origin", "HEAD:main"]);
  giveToGitUser(path.join(world.root, "gitlab", "repos"));
  return git(world.work, ["rev-parse", "HEAD"]);
}

function pushEvent(world: World, sha: string) {
  return {
    body: {
      ref: "refs/heads/main",
      checkout_sha: sha,
      project: { path_with_namespace: world.sourceProject },
    },
    extensions: { commit_label: sha.slice(0, 40) },
  };
}

async function run(world: World, pipelineRun: any, options: Partial<RunOptions> = {}) {
  return runPipelineRun(world.cluster, structuredClone(pipelineRun), {
    ...world.options,
    ...options,
  });
}

function operationsHead(world: World): string {
  return git(world.root, [
    "--git-dir",
    world.sshd.repo(world.operationsProject),
    "rev-parse",
    "main",
  ]);
}

/** The image the operations repository's deployment file names for the container. */
function deployedImage(world: World): string {
  const file = git(world.root, [
    "--git-dir",
    world.sshd.repo(world.operationsProject),
    "show",
    `main:${world.deploymentFile}`,
  ]);
  const images = [...file.matchAll(/^\s*(?:-\s+)?image:\s*(\S+)\s*$/gm)].map((m) =>
    m[1].replace(/^["']|["']$/g, ""),
  );
  if (images.length !== 1)
    throw new Error(`expected one image in ${world.deploymentFile}, found ${images.length}`);
  return images[0];
}

function deployedCommit(world: World): string | undefined {
  // The commit id anywhere in the tag (today <committer date>-<commit>), pinned by a digest.
  return /:(?:[^@]*[^0-9a-f@])?([0-9a-f]{64}|[0-9a-f]{40})(?:[^0-9a-f@][^@]*)?@sha256:[0-9a-f]{64}$/.exec(
    deployedImage(world),
  )?.[1];
}

function explain(record: PipelineRunRecord): string {
  if (record.error) return `PipelineRun ${record.name}: ${record.error}`;
  const failed = record.taskRuns.find((t) => !t.succeeded);
  const step = failed?.steps.find((s) => s.exitCode !== 0);
  if (process.env.REHEARSAL_VERBOSE && step) console.error(step.log);
  return `PipelineRun ${record.name} failed in ${failed?.pipelineTask}/${step?.name}: ${step?.log.trim().split("\n").slice(-4).join(" | ")}`;
}

function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function pipelineParamDefault(cluster: Cluster, name: string): string {
  const pipeline = Object.values(cluster.pipelines)[0];
  const spec = pipeline.spec.params.find((p: any) => p.name === name);
  expect(spec, `the Pipeline declares no param ${name}`);
  return spec.default;
}

function registryPassword(): string {
  return exampleConfig()["tekton-gitlab:registryPassword"];
}

/** Runs the program under `config` with the run's keys and returns its objects. */
async function registeredObjects(config: Record<string, string>) {
  const program = await runProgram(config);
  if (program.error) throw program.error;
  return clusterOf(program.resources);
}

function stackConfig(port: number, hostKeyLine: string): Record<string, string> {
  return withStructured(exampleConfig(), "gitSsh", (gitSsh) => ({
    ...gitSsh,
    host: "127.0.0.1",
    port,
    knownHosts: `[127.0.0.1]:${port} ${hostKeyLine}\n`,
  }));
}

function seedRepository(from: string, bare: string, scratch: string): string {
  const work = path.join(scratch, path.basename(bare, ".git"));
  fs.cpSync(from, work, { recursive: true });
  fs.mkdirSync(path.dirname(bare), { recursive: true });
  git(scratch, ["init", "--quiet", "--bare", "-b", "main", bare]);
  git(work, ["init", "--quiet", "-b", "main"]);
  git(work, ["add", "-A"]);
  git(work, ["commit", "--quiet", "-m", "initial"], {
    GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
    GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
  });
  git(work, ["remote", "add", "origin", bare]);
  git(work, ["push", "--quiet", "origin", "HEAD:main"]);
  return work;
}

/** The Kaniko stand-in as plain JavaScript (TypeScript's own transpiler), for node to run. */
function kanikoStandInScript(dir: string): string {
  const source = fs.readFileSync(path.join(__dirname, "kanikoStandIn.ts"), "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  });
  const file = path.join(dir, "kaniko-executor-stand-in.js");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, outputText, { mode: 0o755 });
  return file;
}

/** A message on one line, so each scenario stays one line of output. */
function oneLine(text: string): string {
  return text
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" | ")
    .slice(0, 600);
}

type Scenario = [string, () => Promise<void>];

async function main(): Promise<number> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tekton-gitlab-rehearsal-"));
  fs.chmodSync(root, 0o755);
  rehearsalRoot = root;
  developerConfig = path.join(root, "developer.gitconfig");
  fs.writeFileSync(developerConfig, "[safe]\n\tdirectory = *\n");
  const keys: Record<string, Ed25519Key> = {};
  useKeyMaterial((name) => (keys[name] ??= generateEd25519(name)));
  let sshd: Sshd | undefined;
  const outcomes: { name: string; error?: string }[] = [];
  try {
    const hostKey = generateEd25519("gitlab-host-key");
    const port = await freePort();
    const objects = await registeredObjects(stackConfig(port, hostKey.publicKeyLine));
    const pipeline = Object.values(objects.cluster.pipelines)[0];
    expect(pipeline, "the program registered no Pipeline");

    const gitlab = path.join(root, "gitlab");
    fs.mkdirSync(gitlab, { recursive: true, mode: 0o755 });
    const deployKeys = objects.deployKeys.map((k) => ({
      project: k.project,
      publicKey: k.key,
      canPush: k.canPush,
    }));
    sshd = await startSshd(gitlab, port, hostKey, deployKeys, track, untrack);

    const sourceProject = deployKeys.find((k) => !k.canPush)?.project;
    const operationsProject = deployKeys.find((k) => k.canPush)?.project;
    expect(
      sourceProject && operationsProject,
      "the program registered no read and write deploy keys",
    );
    const scratch = path.join(root, "developer");
    fs.mkdirSync(scratch);
    const work = seedRepository(
      path.join(REPO_ROOT, "examples", "hello-python"),
      sshd.repo(sourceProject),
      scratch,
    );
    seedRepository(
      path.join(REPO_ROOT, "examples", "hello-python-operations"),
      sshd.repo(operationsProject),
      scratch,
    );
    giveToGitUser(path.join(gitlab, "repos"));

    const secretOf = (type: string, key: string, index = 0) =>
      Object.values(objects.cluster.secrets).filter((s: any) => s.type === type)[index]
        ?.stringData?.[key];
    const pullKeyText =
      keys[Object.keys(keys).find((n) => n.includes("source"))!]?.privateKeyOpenssh;
    const writeKeyText =
      keys[Object.keys(keys).find((n) => n.includes("operations"))!]?.privateKeyOpenssh;
    expect(pullKeyText && writeKeyText, "no source and operations keys were generated");
    const dockerConfig = secretOf("kubernetes.io/dockerconfigjson", ".dockerconfigjson");

    const images = prepareImages(path.join(root, "images"), [
      process.execPath,
      kanikoStandInScript(path.join(root, "images")),
    ]);
    // On stderr: stdout is one line per scenario and the summary.
    console.error(
      `rehearsal: sshd on 127.0.0.1:${port} as ${GIT_USER}; kubectl ${kubectlVersion()}; ${git(root, ["--version"])}`,
    );
    const world: World = {
      root,
      port,
      sshd,
      ...objects,
      options: {
        root: path.join(root, "runs"),
        images,
        watch: {
          "git-pull key": pullKeyText,
          "git-write key": writeKeyText,
          "registry password": registryPassword(),
          ...(dockerConfig ? { "registry config": dockerConfig } : {}),
        },
        stepTimeoutMs: STEP_TIMEOUT_MS,
        track,
        untrack,
      },
      sourceProject,
      operationsProject,
      deploymentFile: pipelineParamDefault(objects.cluster, "deployment-file"),
      containerName: pipelineParamDefault(objects.cluster, "container-name"),
      work,
      commits: 0,
      secrets: { pull: pullKeyText, write: writeKeyText, registryPassword: registryPassword() },
    };
    fs.mkdirSync(world.options.root, { recursive: true, mode: 0o755 });

    const runs: Record<string, { sha: string; run: any; record: PipelineRunRecord }> = {};
    const pushAndRun = async (label: string) => {
      const sha = push(world, label);
      const event = pushEvent(world, sha);
      const pipelineRun = pipelineRunFor(world, event.body, event.extensions);
      const record = await run(world, pipelineRun);
      runs[label] = { sha, run: pipelineRun, record };
      return runs[label];
    };

    const scenarios: Scenario[] = [
      [
        "a push builds exactly the pushed SHA and commits image@digest to the operations repository",
        async () => {
          const before = operationsHead(world);
          const { sha, record } = await pushAndRun("first");
          expect(record.succeeded, explain(record));
          // Whatever the results are called (a build task may also give Chains' IMAGE_DIGEST).
          const digests = [
            ...new Set(
              record.taskRuns
                .flatMap((t) => Object.values(t.results))
                .filter((v) => /^sha256:[0-9a-f]{64}$/.test(v)),
            ),
          ];
          expect(
            digests.length === 1,
            `expected one digest result, got ${digests.join(", ") || "none"}`,
          );
          const image = deployedImage(world);
          expect(deployedCommit(world) === sha, `deployed ${image}, expected commit ${sha}`);
          expect(
            image.endsWith(`@${digests[0]}`),
            `deployed ${image}, expected the built digest ${digests[0]}`,
          );
          const head = operationsHead(world);
          expect(head !== before, "no commit was pushed to the operations repository");
          const built = git(root, ["--git-dir", sshd!.repo(sourceProject), "rev-parse", "main"]);
          expect(built === sha, `the source branch is at ${built}, the run built ${sha}`);
        },
      ],
      [
        "a second push deploys the newer commit",
        async () => {
          const { sha, record } = await pushAndRun("second");
          expect(record.succeeded, explain(record));
          expect(
            deployedCommit(world) === sha,
            `deployed ${deployedImage(world)}, expected ${sha}`,
          );
        },
      ],
      [
        "two runs finishing out of order leave the newer commit deployed",
        async () => {
          const older = push(world, "older");
          const newer = push(world, "newer");
          let release!: () => void;
          const held = new Promise<void>((resolve) => (release = resolve));
          let reachedLast!: () => void;
          const atLast = new Promise<void>((resolve) => (reachedLast = resolve));
          const olderEvent = pushEvent(world, older);
          const olderRun = run(
            world,
            pipelineRunFor(world, olderEvent.body, olderEvent.extensions),
            {
              beforeTask: async (_task, isLast) => {
                if (isLast) {
                  reachedLast();
                  await held;
                }
              },
            },
          );
          // The older run may fail before its last task; then there is nothing to hold.
          await Promise.race([atLast, olderRun]);
          const newerEvent = pushEvent(world, newer);
          const newerRun = pipelineRunFor(world, newerEvent.body, newerEvent.extensions);
          const newerRecord = await run(world, newerRun);
          runs.newer = { sha: newer, run: newerRun, record: newerRecord };
          release();
          const olderRecord = await olderRun;
          expect(newerRecord.succeeded, explain(newerRecord));
          expect(olderRecord.succeeded, explain(olderRecord));
          expect(
            deployedCommit(world) === newer,
            `deployed ${deployedImage(world)}, expected the newer ${newer}`,
          );
        },
      ],
      [
        "re-running an old PipelineRun does not roll back",
        async () => {
          const first = runs.first;
          expect(first, "scenario 1 did not run");
          const head = operationsHead(world);
          const deployed = deployedCommit(world);
          const again = structuredClone(first.run);
          again.metadata.name = `${first.run.metadata.name}-rerun`;
          const record = await run(world, again);
          expect(record.succeeded, explain(record));
          expect(deployedCommit(world) === deployed, `rolled back to ${deployedImage(world)}`);
          expect(operationsHead(world) === head, "the re-run pushed a commit");
        },
      ],
      [
        "a wrong knownHosts key fails the clone with 'Host key verification failed'",
        async () => {
          const wrong = generateEd25519("not-the-gitlab-host-key");
          const other = await registeredObjects(stackConfig(port, wrong.publicKeyLine));
          const head = operationsHead(world);
          const event = pushEvent(world, runs.newer?.sha ?? git(work, ["rev-parse", "HEAD"]));
          const pipelineRun = pipelineRunFor({ ...world, ...other }, event.body, event.extensions);
          const record = await runPipelineRun(other.cluster, pipelineRun, world.options);
          expect(!record.succeeded, "the run succeeded with a wrong host key");
          const failed = record.taskRuns.find((t) => !t.succeeded);
          const log = failed?.steps.map((s) => s.log).join("\n") ?? record.error ?? "";
          expect(
            record.taskRuns.length === 1,
            `failed in ${failed?.pipelineTask}, expected the first task`,
          );
          expect(
            log.includes("Host key verification failed"),
            `log does not say 'Host key verification failed': ${log.trim().slice(-300)}`,
          );
          expect(operationsHead(world) === head, "the operations repository changed");
        },
      ],
      [
        "the pull key cannot push to the operations repository",
        async () => {
          const head = operationsHead(world);
          const keyFile = path.join(root, "pull-key");
          fs.writeFileSync(keyFile, world.secrets.pull, { mode: 0o600 });
          const knownHosts = path.join(root, "known_hosts");
          fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey.publicKeyLine}\n`);
          const clone = path.join(root, "pull-key-clone");
          const sshCommand = `ssh -F none -i ${keyFile} -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
          git(root, ["clone", "--quiet", sshd!.repo(operationsProject), clone]);
          fs.appendFileSync(path.join(clone, world.deploymentFile), "# pushed with the pull key\n");
          git(clone, ["commit", "--quiet", "-am", "pull key push"]);
          const attempt = (url: string) => {
            try {
              git(clone, ["push", url, "HEAD:main"], { GIT_SSH_COMMAND: sshCommand });
              return "pushed";
            } catch (error) {
              return String((error as { stderr?: string }).stderr ?? error);
            }
          };
          const operationsUrl = `ssh://git@127.0.0.1:${port}/${operationsProject}.git`;
          const toOperations = attempt(operationsUrl);
          expect(toOperations !== "pushed", "the pull key pushed to the operations repository");
          expect(/could not be found/.test(toOperations), `unexpected refusal: ${toOperations}`);
          const toSource = attempt(`ssh://git@127.0.0.1:${port}/${sourceProject}.git`);
          expect(
            /does not have write access/.test(toSource),
            `the pull key was not refused a push to its own project: ${toSource}`,
          );
          expect(operationsHead(world) === head, "the operations repository changed");
        },
      ],
      [
        "no image change: no commit",
        async () => {
          const newer = runs.newer;
          expect(newer, "scenario 3 did not run");
          const head = operationsHead(world);
          const again = structuredClone(newer.run);
          again.metadata.name = `${newer.run.metadata.name}-again`;
          const record = await run(world, again);
          expect(record.succeeded, explain(record));
          expect(
            operationsHead(world) === head,
            "a commit was pushed though the image did not change",
          );
        },
      ],
      [
        "a non-22 SSH port end to end",
        async () => {
          const first = runs.first;
          expect(first?.record.succeeded, "scenario 1 did not succeed");
          expect(port !== 22, "the port is 22");
          const urls = first.run.spec.params
            .filter((p: any) => /^ssh:\/\//.test(p.value))
            .map((p: any) => p.value);
          expect(
            urls.length >= 2 && urls.every((u: string) => u.includes(`@127.0.0.1:${port}/`)),
            `clone URLs do not carry port ${port}: ${urls.join(", ")}`,
          );
          const accepted = (sshd!.log().match(/Accepted publickey for git/g) ?? []).length;
          expect(accepted >= 2, `sshd accepted ${accepted} logins`);
        },
      ],
      [
        "credential reach: the Kaniko stand-in sees no git key, git and kubectl steps see no registry credentials",
        async () => {
          const first = runs.first;
          expect(first, "scenario 1 did not run");
          const steps = first.record.taskRuns.flatMap((t) =>
            t.steps.map((s) => ({ ...s, task: t.pipelineTask })),
          );
          const kaniko = steps.filter((s) => s.kind === "kaniko");
          expect(kaniko.length === 1, `expected one Kaniko step, got ${kaniko.length}`);
          const report = kaniko[0].report;
          expect(report, "the Kaniko stand-in wrote no report");
          expect(
            report.gitKeys.length === 0 && !kaniko[0].sees.some((l) => l.endsWith("key")),
            `the Kaniko pod sees ${[...report.gitKeys, ...kaniko[0].sees].join(", ")}`,
          );
          expect(
            report.registryCredentials,
            "the Kaniko stand-in got no credentials for the registry",
          );
          expect(report.registryCa, "the Kaniko stand-in got no CA for the registry");
          for (const step of steps.filter((s) => s.kind !== "kaniko")) {
            const registry = step.sees.filter((l) => l.startsWith("registry"));
            expect(registry.length === 0, `${step.task}/${step.name} sees ${registry.join(", ")}`);
          }
          const kubectl = steps.filter((s) => s.kind === "kubectl");
          for (const step of kubectl)
            expect(
              step.sees.length === 0,
              `${step.task}/${step.name} sees ${step.sees.join(", ")}`,
            );
        },
      ],
      [
        "every step script of the registered Tasks passes shellcheck (warnings and errors)",
        async () => {
          const shellcheck = which("shellcheck");
          expect(shellcheck, "shellcheck is not installed (Debian package shellcheck)");
          const dir = path.join(root, "shellcheck");
          fs.mkdirSync(dir, { recursive: true });
          const findings: string[] = [];
          let checked = 0;
          for (const task of Object.values(world.cluster.tasks)) {
            for (const step of task.spec.steps) {
              if (typeof step.script !== "string") continue;
              // The shebang picks the dialect: /bin/sh is checked as POSIX sh (busybox ash runs
              // more than that), /bin/bash as bash.
              const shell = /^#!\S*\/bash\b/.test(step.script) ? "bash" : "sh";
              const file = path.join(dir, `${task.metadata.name}-${step.name}.sh`);
              fs.writeFileSync(file, step.script);
              checked += 1;
              try {
                execFileSync(
                  shellcheck,
                  ["--severity=warning", `--shell=${shell}`, "-f", "gcc", file],
                  {
                    encoding: "utf8",
                    stdio: ["ignore", "pipe", "pipe"],
                  },
                );
              } catch (error) {
                findings.push(String((error as { stdout?: string }).stdout ?? error));
              }
            }
          }
          expect(checked > 0, "no step scripts found");
          expect(findings.length === 0, findings.join(" "));
        },
      ],
    ];

    for (const [index, [name, body]] of scenarios.entries()) {
      try {
        await body();
        outcomes.push({ name });
        console.log(`ok   ${index + 1} ${name}`);
      } catch (error) {
        outcomes.push({ name, error: (error as Error).message });
        console.log(`FAIL ${index + 1} ${name}: ${oneLine((error as Error).message)}`);
      }
    }
  } catch (error) {
    outcomes.push({ name: "setup", error: (error as Error).message });
    console.log(`FAIL setup: ${(error as Error).message}`);
  } finally {
    await sshd?.stop();
    stopAll();
    useKeyMaterial(undefined);
    // REHEARSAL_KEEP=1 keeps the directory for debugging (and says where it is).
    if (process.env.REHEARSAL_KEEP) console.error(`kept ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  }
  const failed = outcomes.filter((o) => o.error).length;
  console.log(`rehearsal: ${outcomes.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

const timer = setTimeout(() => {
  console.log(`FAIL timeout: the rehearsal did not finish in ${OVERALL_TIMEOUT_MS} ms`);
  stopAll();
  if (rehearsalRoot) fs.rmSync(rehearsalRoot, { recursive: true, force: true });
  console.log("rehearsal: 0 passed, 1 failed");
  process.exit(1);
}, OVERALL_TIMEOUT_MS);

main().then(
  (code) => {
    clearTimeout(timer);
    process.exit(code);
  },
  (error) => {
    clearTimeout(timer);
    stopAll();
    console.log(`FAIL ${(error as Error).message}`);
    console.log("rehearsal: 0 passed, 1 failed");
    process.exit(1);
  },
);
