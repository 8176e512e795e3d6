// `npm run rehearse`: a push rehearsed offline. The stack program runs under the test mocks
// (tests/harness) with real ED25519 keys. Each push is a GitLab push delivery (the hook's
// token, GitLab's headers and payload shape) handed to a model of the shared EventListener's
// sink (delivery.ts -> tests/harness/sharedListener.ts: Triggers v0.37.0 over the registered
// EventListener, Triggers, bindings, templates, token Secrets and RBAC); the PipelineRun it
// creates is run, with the Tasks, Pipeline, Secrets and ConfigMaps registered in its namespace,
// by a small Tekton emulator (runner.ts) against a real sshd (sshd.ts) serving bare
// repositories made from examples/. Prints one line per scenario, then
// `rehearsal: N passed, M failed`; exits non-zero on any failure. Everything lives under one
// directory in os.tmpdir(), removed at the end; every process it starts is stopped.
// `--try` (`npm run try`): the first scenario alone, the example app's push, told in a few lines
// (trySummary.ts) instead of the scenario lines.
import "../harness/mocks";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as https from "node:https";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ts from "typescript";
import { useKeyMaterial } from "../harness/mocks";
import { STATUS_TOKEN_KEY, STATUS_TOKEN_SECRET } from "../../config/schema";
import { FakeGitLab } from "../gitlab/fakeGitLab";
import { FakeKubeApi, kubeconfig, startFakeKubeApi } from "../harness/fakeKubeApi";
import { CANCEL_SERVICE_ACCOUNT, CANCEL_TASK_NAME } from "../../tekton/cancel/cancelTask";
import { pipelineName } from "../../tekton/core/names";
import {
  MERGE_REQUEST_TASKS,
  mergeRequestPipelineName,
  STATUS_READER_SERVICE_ACCOUNT,
} from "../../tekton/mergeRequest/pipeline";
import { MERGE_REQUEST_LABEL } from "../../tekton/mergeRequest/runs";
import { mergeRequestTriggerNames } from "../../tekton/mergeRequest/triggers";
import { triggerNames } from "../../tekton/listener/triggers";
import { exampleConfig, REPO_ROOT, runProgram, withStructured } from "../harness/program";
import { Cluster as ListenerCluster, Outcome } from "../harness/sharedListener";
import {
  clusterOf,
  delivery,
  MergeRequest,
  mergeRequestDelivery,
  mergeRequestPayload,
  notePayload,
  started,
  Started,
} from "./delivery";
import { taskRunObject } from "./taskRuns";
import { kubectlVersion, prepareImages, which } from "./images";
import { Ed25519Key, generateEd25519 } from "./keys";
import { Cluster, PipelineRunRecord, runPipelineRun, RunOptions } from "./runner";
import { freePort, GIT_USER, giveToGitUser, startSshd, Sshd } from "./sshd";
import { buildResults, changedLines, formatPushSummary } from "./trySummary";

/** `npm run try`: only the example push, and what happened to it. */
const TRY = process.argv.includes("--try");
const STARTED_AT = Date.now();

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

interface World {
  root: string;
  port: number;
  sshd: Sshd;
  /** The rehearsed app's namespace objects (the emulator's view). */
  cluster: Cluster;
  clusters: Record<string, Cluster>;
  listener: ListenerCluster;
  app: { name: string; namespace: string; token: string; branch: string };
  /** The second app: its token and project exist only to test routing; it is never built. */
  other: { name: string; namespace: string; sourceProject: string; token: string };
  options: RunOptions;
  sourceProject: string;
  operationsProject: string;
  pipeline: string;
  deploymentFile: string;
  containerName: string;
  work: string;
  commits: number;
  secrets: { pull: string; write: string; registryPassword: string };
  /** The fake GitLab API (127.0.0.1) the status steps post commit statuses to. */
  gitlabApi: FakeGitLab;
}

/** `namespace/name` of an app's push Trigger (its merge request Triggers are beside it). */
function pushTriggerId(app: { name: string; namespace: string }): string {
  return `${app.namespace}/${triggerNames(app).trigger}`;
}

/** A developer's commit pushed to `branch` (the app's by default); returns its SHA. */
function push(world: World, message: string, branch = world.app.branch): string {
  world.commits += 1;
  fs.appendFileSync(path.join(world.work, "source", "app.py"), `# ${message}\n`);
  const date = new Date(Date.UTC(2026, 0, 1, 0, world.commits)).toISOString();
  git(world.work, ["add", "-A"]);
  git(world.work, ["commit", "--quiet", "-m", message], {
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  });
  git(world.work, ["push", "--quiet", "origin", `HEAD:refs/heads/${branch}`]);
  giveToGitUser(path.join(world.root, "gitlab", "repos"));
  const sha = git(world.work, ["rev-parse", "HEAD"]);
  // GitLab knows every pushed commit; statuses can be posted for it.
  world.gitlabApi.addCommit(world.sourceProject, sha, branch);
  // A push elsewhere leaves the app's branch (and the next push's parent) where it was.
  if (branch !== world.app.branch) git(world.work, ["reset", "--quiet", "--hard", "HEAD~1"]);
  return sha;
}

/** GitLab's delivery of the rehearsed app's push of `sha`, through the shared listener. */
function deliverPush(
  world: World,
  sha: string,
  edit: { listener?: ListenerCluster; project?: string; branch?: string; token?: string } = {},
): Outcome {
  return delivery(edit.listener ?? world.listener, {
    project: edit.project ?? world.sourceProject,
    ref: `refs/heads/${edit.branch ?? world.app.branch}`,
    before: git(world.root, [
      "--git-dir",
      world.sshd.repo(world.sourceProject),
      "rev-parse",
      `${sha}^`,
    ]),
    sha,
    token: edit.token ?? world.app.token,
  });
}

/** The PipelineRun the listener created for the rehearsed app's push of `sha`. */
function startedBy(world: World, sha: string, listener?: ListenerCluster): Started {
  return started(deliverPush(world, sha, { listener }), world.app.namespace, world.pipeline);
}

async function run(world: World, start: Started, options: Partial<RunOptions> = {}) {
  const cluster = world.clusters[start.namespace];
  expect(cluster, `nothing is registered in namespace ${start.namespace}`);
  return runPipelineRun(cluster, structuredClone(start.run), {
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

function pipelineParamDefault(pipeline: any, name: string): string {
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

/** The routing scenarios' second app: a push of its project must start only its pipeline. */
const OTHER_APP = {
  name: "orders",
  sourceProject: "shop/orders",
  operationsProject: "shop/orders-operations",
  imageRepository: "shop/orders",
};

/**
 * Pulumi.dev.yaml's stack with `gitSsh` on 127.0.0.1:<port> and a second app, so the shared
 * listener selects two Triggers. Only the first app is built; the second costs its objects and
 * deploy keys, not another sshd or repository.
 */
function stackConfig(port: number, hostKeyLine: string, gitlabUrl: string): Record<string, string> {
  // The status steps post to the fake GitLab on 127.0.0.1, never to the example's host.
  const base = { ...exampleConfig(), "gitlab:baseUrl": gitlabUrl };
  const withSsh = withStructured(base, "gitSsh", (gitSsh) => ({
    ...gitSsh,
    host: "127.0.0.1",
    port,
    knownHosts: `[127.0.0.1]:${port} ${hostKeyLine}\n`,
  }));
  // Merge request builds on (scenarios "a merge request ..."); the second app inherits them.
  return withStructured(withSsh, "apps", (apps) => [
    { ...apps[0], mergeRequests: { build: true } },
    ...apps.slice(1),
    { ...apps[0], ...OTHER_APP, namespace: undefined, mergeRequests: { build: true } },
  ]);
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

/** A self-signed certificate for 127.0.0.1 (openssl), the fake API server's. */
function selfSignedLoopbackCert(dir: string): { key: string; cert: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "key.pem",
      "-out",
      "cert.pem",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { cwd: dir, stdio: "ignore" },
  );
  return {
    key: fs.readFileSync(path.join(dir, "key.pem"), "utf8"),
    cert: fs.readFileSync(path.join(dir, "cert.pem"), "utf8"),
  };
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
  if (process.getuid?.() !== 0) {
    // Said before anything starts, rather than as a failed step later.
    console.log(
      "FAIL setup: the rehearsal must run as root: it starts sshd as the user git and runs each " +
        "step as its image's user (setpriv)",
    );
    console.log("rehearsal: 0 passed, 1 failed");
    return 1;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tekton-gitlab-rehearsal-"));
  fs.chmodSync(root, 0o755);
  rehearsalRoot = root;
  developerConfig = path.join(root, "developer.gitconfig");
  fs.writeFileSync(developerConfig, "[safe]\n\tdirectory = *\n");
  const keys: Record<string, Ed25519Key> = {};
  useKeyMaterial((name) => (keys[name] ??= generateEd25519(name)));
  let sshd: Sshd | undefined;
  let gitlabApi: FakeGitLab | undefined;
  let mergeRequestApi: Promise<FakeKubeApi> | undefined;
  const outcomes: { name: string; error?: string }[] = [];
  try {
    const hostKey = generateEd25519("gitlab-host-key");
    const port = await freePort();
    gitlabApi = await FakeGitLab.start("glpat-rehearsal-status-token");
    const config = stackConfig(port, hostKey.publicKeyLine, gitlabApi.url);
    const objects = await registeredObjects(config);
    const [app, other] = JSON.parse(config["tekton-gitlab:apps"]) as any[];
    const hookOf = (project: string) => {
      const hook = objects.hooks.find((h) => h.project === project);
      expect(hook, `the program registered no GitLab hook for ${project}`);
      return hook;
    };
    // The namespace each app's Trigger lives in (the config may leave it to its default).
    const triggerNamespace = (name: string) => {
      const ns = objects.listener.triggers.find(
        (t) => t.metadata.labels?.["app.kubernetes.io/part-of"] === name,
      )?.metadata.namespace;
      expect(ns, `no Trigger is labelled as part of ${name}`);
      return ns;
    };
    const appNamespace = triggerNamespace(app.name);
    const cluster = objects.clusters[appNamespace];
    expect(cluster, `nothing is registered in ${appNamespace}`);
    // The push build's Pipeline; the merge request's is beside it.
    const pipeline = cluster.pipelines[pipelineName(app)];
    expect(pipeline, `the program registered no Pipeline ${pipelineName(app)}`);

    const gitlab = path.join(root, "gitlab");
    fs.mkdirSync(gitlab, { recursive: true, mode: 0o755 });
    const deployKeys = objects.deployKeys.map((k) => ({
      project: k.project,
      publicKey: k.key,
      canPush: k.canPush,
    }));
    sshd = await startSshd(gitlab, port, hostKey, deployKeys, track, untrack);

    const sourceProject: string = app.sourceProject;
    const operationsProject: string = app.operationsProject;
    expect(
      deployKeys.some((k) => k.project === sourceProject && !k.canPush) &&
        deployKeys.some((k) => k.project === operationsProject && k.canPush),
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
      Object.values(cluster.secrets).filter((s: any) => s.type === type)[index]?.stringData?.[key];
    const pullKeyText = keys[`${app.name}-source-key`]?.privateKeyOpenssh;
    const writeKeyText = keys[`${app.name}-operations-key`]?.privateKeyOpenssh;
    expect(pullKeyText && writeKeyText, "no source and operations keys were generated");
    const dockerConfig = secretOf("kubernetes.io/dockerconfigjson", ".dockerconfigjson");
    // The status token Secret (its GitLab resource is mocked here): the fake GitLab's token.
    gitlabApi.addProject(sourceProject);
    const addStatusToken = (into: Cluster) => {
      into.secrets[STATUS_TOKEN_SECRET] = {
        metadata: { name: STATUS_TOKEN_SECRET, namespace: appNamespace },
        type: "Opaque",
        stringData: { [STATUS_TOKEN_KEY]: gitlabApi!.token },
      };
    };
    addStatusToken(cluster);

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
      cluster,
      clusters: objects.clusters,
      listener: objects.listener,
      app: {
        name: app.name,
        namespace: appNamespace,
        token: hookOf(sourceProject).token,
        branch: app.branch,
      },
      other: {
        name: other.name,
        namespace: triggerNamespace(other.name),
        sourceProject: other.sourceProject,
        token: hookOf(other.sourceProject).token,
      },
      options: {
        root: path.join(root, "runs"),
        images,
        watch: {
          "git-pull key": pullKeyText,
          "git-write key": writeKeyText,
          "registry password": registryPassword(),
          ...(dockerConfig ? { "registry config": dockerConfig } : {}),
          "GitLab status token": gitlabApi.token,
        },
        stepTimeoutMs: STEP_TIMEOUT_MS,
        track,
        untrack,
      },
      sourceProject,
      operationsProject,
      pipeline: pipeline.metadata.name,
      deploymentFile: pipelineParamDefault(pipeline, "deployment-file"),
      containerName: pipelineParamDefault(pipeline, "container-name"),
      work,
      commits: 0,
      secrets: { pull: pullKeyText, write: writeKeyText, registryPassword: registryPassword() },
      gitlabApi,
    };
    fs.mkdirSync(world.options.root, { recursive: true, mode: 0o755 });

    // Merge requests (issue 21): the rehearsed app builds them (stackConfig). Their runs, and
    // the push runs beside them, live in a fake API server whose RBAC is the registered Roles:
    // the cancel task patches through it, the status task's describe-failure step reads the
    // TaskRuns the emulator reports (taskRuns.ts).
    const mergeRequestPipeline = mergeRequestPipelineName(app);
    const mergeRequestStatus = `tekton/${app.name}/merge-request`;
    const apiTokens: Record<string, string> = Object.fromEntries(
      [CANCEL_SERVICE_ACCOUNT, STATUS_READER_SERVICE_ACCOUNT].map((account) => [
        account,
        `rehearsal-${account}-${randomBytes(12).toString("hex")}`,
      ]),
    );
    const tokenLabel = (account: string) => `${account} API token`;
    const mayDo = (token: string, verb: string, resource: string, namespace: string) => {
      const account = Object.keys(apiTokens).find((a) => apiTokens[a] === token);
      return objects.listener.roleBindings.some(
        (binding: any) =>
          binding.metadata.namespace === namespace &&
          binding.subjects.some(
            (s: any) =>
              s.kind === "ServiceAccount" && s.name === account && s.namespace === namespace,
          ) &&
          (
            objects.listener.roles.find(
              (r: any) =>
                r.metadata.name === binding.roleRef.name && r.metadata.namespace === namespace,
            )?.rules ?? []
          ).some(
            (rule: any) =>
              rule.apiGroups.includes("tekton.dev") &&
              rule.resources.includes(resource) &&
              rule.verbs.includes(verb),
          ),
      );
    };
    const apiTls = () => selfSignedLoopbackCert(path.join(root, "merge-request-kube-api-tls"));
    let tlsOfApi: { key: string; cert: string } | undefined;
    const kubeApi = () =>
      (mergeRequestApi ??= (async () => {
        tlsOfApi = apiTls();
        const api = await startFakeKubeApi([appNamespace], tlsOfApi);
        api.authorize = mayDo;
        return api;
      })());
    /** Direct call to the fake API as `account` would make it: the HTTP status. */
    const apiStatus = async (account: string, apiPath: string) => {
      const api = await kubeApi();
      return new Promise<number>((resolve, reject) => {
        const request = https.get(
          `${api.url}${apiPath}`,
          { ca: tlsOfApi!.cert, headers: { Authorization: `Bearer ${apiTokens[account]}` } },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on("error", reject);
      });
    };
    let stamp = 0;
    /** Runs `start` with its PipelineRun and TaskRuns held by the fake API server. */
    const runOnApi = async (start: Started, options: Partial<RunOptions> = {}) => {
      const api = await kubeApi();
      const ns = start.namespace;
      const object = structuredClone(start.run);
      // Whole seconds, as the API server stamps them; a minute apart, in the order started.
      object.metadata.creationTimestamp = new Date(Date.UTC(2026, 10, 30, 1, ++stamp))
        .toISOString()
        .replace(/\.\d+Z$/, "Z");
      object.status = { conditions: [{ type: "Succeeded", status: "Unknown", reason: "Running" }] };
      api.runs.get(ns)!.set(object.metadata.name, object);
      const record = await run(world, start, {
        watch: {
          ...world.options.watch,
          ...Object.fromEntries(Object.entries(apiTokens).map(([a, t]) => [tokenLabel(a), t])),
        },
        serviceAccountKubeconfig: (account, namespace) => {
          expect(account in apiTokens, `ServiceAccount ${account} would mount an API token`);
          return kubeconfig(api.url, namespace, apiTokens[account], tlsOfApi!.cert);
        },
        specStatus: () => api.runs.get(ns)!.get(object.metadata.name)?.spec?.status,
        onTaskRun: (taskRun) =>
          api.taskRuns.get(ns)!.set(taskRun.name, taskRunObject(object, taskRun)),
        ...options,
      });
      const reason = record.cancelled ? "Cancelled" : record.succeeded ? "Succeeded" : "Failed";
      object.status = {
        conditions: [{ type: "Succeeded", status: record.succeeded ? "True" : "False", reason }],
      };
      return record;
    };
    /** Holds a run before its last task until released (see the cancel scenario). */
    const holdAtLast = () => {
      let reached!: () => void;
      const atLast = new Promise<void>((resolve) => (reached = resolve));
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const beforeTask = async (_task: string, isLast: boolean) => {
        if (isLast) {
          reached();
          await held;
        }
      };
      return { beforeTask, atLast, release };
    };
    const registryLog = path.join(world.options.root, "registry.log");
    const registryLines = () =>
      fs.existsSync(registryLog)
        ? fs.readFileSync(registryLog, "utf8").split("\n").filter(Boolean)
        : [];
    const mergeRequestClone = path.join(scratch, "merge-requests");
    const sourceRepo = sshd.repo(sourceProject);
    const branchHeads: Record<string, string> = {};
    /**
     * A developer's commit pushed to `branch` (started from the app's branch), and the merge
     * request ref moved to it as GitLab does on every push to a merge request's source branch
     * (gitlabhq app/models/merge_request.rb `fetch_ref!` writes `ref_path`,
     * refs/merge-requests/<iid>/head, in the target project).
     */
    const pushToMergeRequest = (
      iid: number,
      branch: string,
      message: string,
      edit: (dir: string) => void = (dir) =>
        fs.appendFileSync(path.join(dir, "source", "app.py"), `# ${message}\n`),
    ): string => {
      if (!fs.existsSync(mergeRequestClone))
        git(root, ["clone", "--quiet", sourceRepo, mergeRequestClone]);
      git(mergeRequestClone, ["fetch", "--quiet", "origin"]);
      const base =
        branchHeads[branch] ?? git(mergeRequestClone, ["rev-parse", `origin/${app.branch}`]);
      git(mergeRequestClone, ["checkout", "--quiet", "-B", branch, base]);
      edit(mergeRequestClone);
      world.commits += 1;
      const date = new Date(Date.UTC(2026, 0, 1, 0, world.commits)).toISOString();
      git(mergeRequestClone, ["add", "-A"]);
      git(mergeRequestClone, ["commit", "--quiet", "-m", message], {
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      });
      git(mergeRequestClone, ["push", "--quiet", "origin", `HEAD:refs/heads/${branch}`]);
      const sha = git(mergeRequestClone, ["rev-parse", "HEAD"]);
      git(root, ["--git-dir", sourceRepo, "update-ref", `refs/merge-requests/${iid}/head`, sha]);
      giveToGitUser(path.join(gitlab, "repos"));
      gitlabApi!.addCommit(sourceProject, sha, branch);
      branchHeads[branch] = sha;
      return sha;
    };
    const mergeRequest = (iid: number, sourceBranch: string, sha: string): MergeRequest => ({
      project: sourceProject,
      projectId: 42,
      iid,
      sourceBranch,
      targetBranch: app.branch,
      sha,
    });
    const mergeRequestEvent = (mr: MergeRequest, action: string, oldrev?: string) =>
      mergeRequestDelivery(
        world.listener,
        "Merge Request Hook",
        mergeRequestPayload(mr, action, oldrev),
        world.app.token,
      );
    const comment = (mr: MergeRequest, note: string) =>
      mergeRequestDelivery(world.listener, "Note Hook", notePayload(mr, note), world.app.token);
    const mergeRequestTriggerId = (kind: "mergeRequest" | "note") =>
      `${appNamespace}/${mergeRequestTriggerNames(app)[kind].trigger}`;
    /** What was posted for `sha`, in order: `<state> <HTTP status>`. */
    const postedOn = (sha: string) =>
      gitlabApi!
        .requestsOf("POST", "/statuses/")
        .filter((r) => r.rawPath.endsWith(sha))
        .map((r) => `${r.body.state} ${r.status}`)
        .join(", ");
    const merged: Record<string, { mr: MergeRequest; start: Started; record: PipelineRunRecord }> =
      {};

    const runs: Record<string, { sha: string; start: Started; record: PipelineRunRecord }> = {};
    const pushAndRun = async (label: string) => {
      const sha = push(world, label);
      const start = startedBy(world, sha);
      const record = await run(world, start);
      runs[label] = { sha, start, record };
      return runs[label];
    };

    const scenarios: Scenario[] = [
      [
        "a push builds exactly the pushed SHA and commits image@digest to the operations repository",
        async () => {
          const before = operationsHead(world);
          const { sha, start, record } = await pushAndRun("first");
          expect(record.succeeded, explain(record));
          // The listener's run: its labels carry the commit through the CEL overlay.
          const labels = Object.values(start.run.metadata.labels ?? {});
          expect(
            labels.includes(sha.slice(0, 40)),
            `the created PipelineRun's labels do not carry the commit: ${JSON.stringify(labels)}`,
          );
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
        "GitLab shows the build on the commit: running from beside the first task, then success from finally",
        async () => {
          const first = runs.first;
          expect(first, "scenario 1 did not run");
          const posted = gitlabApi!
            .requestsOf("POST", "/statuses/")
            .filter((r) => r.rawPath.endsWith(first.sha))
            .map((r) => `${r.body.state} ${r.status}`);
          expect(
            posted.join(", ") === "running 201, success 201",
            `posted ${posted.join(", ") || "nothing"}`,
          );
          const shown = gitlabApi!
            .statusesOf(world.sourceProject, first.sha)
            .map((s) => `${s.name} ${s.ref} ${s.status}`);
          expect(
            shown.join(", ") === `tekton/${world.app.name} ${world.app.branch} success`,
            `GitLab shows ${shown.join(", ") || "nothing"}`,
          );
          // Only the two status steps ever hold the token.
          const holders = first.record.taskRuns.flatMap((t) =>
            t.steps
              .filter((s) => s.sees.includes("GitLab status token"))
              .map((s) => `${t.pipelineTask}/${s.name}`),
          );
          expect(
            holders.sort().join(", ") === "report-result/post-status, report-running/post-status",
            `the token reaches ${holders.join(", ") || "no step"}`,
          );
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
          const olderRun = run(world, startedBy(world, older), {
            beforeTask: async (_task, isLast) => {
              if (isLast) {
                reachedLast();
                await held;
              }
            },
          });
          // The older run may fail before its last task; then there is nothing to hold.
          await Promise.race([atLast, olderRun]);
          const newerStart = startedBy(world, newer);
          const newerRecord = await run(world, newerStart);
          runs.newer = { sha: newer, start: newerStart, record: newerRecord };
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
          // `tkn pipelinerun rerun`: the same spec under a new name.
          const again = structuredClone(first.start);
          again.run.metadata.name = `${first.start.run.metadata.name}-rerun`;
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
          const other = await registeredObjects(
            stackConfig(port, wrong.publicKeyLine, gitlabApi!.url),
          );
          const head = operationsHead(world);
          const start = startedBy(
            world,
            runs.newer?.sha ?? git(work, ["rev-parse", "HEAD"]),
            other.listener,
          );
          addStatusToken(other.clusters[appNamespace]);
          const record = await run({ ...world, clusters: other.clusters }, start);
          expect(!record.succeeded, "the run succeeded with a wrong host key");
          const failed = record.taskRuns.find((t) => !t.succeeded);
          const log = failed?.steps.map((s) => s.log).join("\n") ?? record.error ?? "";
          // Besides the first task only the status reports ran (running, then the result), and
          // cancel-superseded (no runAfter), which never fails.
          const ran = record.taskRuns
            .map((t) => t.pipelineTask)
            .filter((t) => t !== "cancel-superseded")
            .sort();
          expect(
            failed?.pipelineTask === "generate-image-tag" &&
              ran.join(",") === "generate-image-tag,report-result,report-running",
            `failed in ${failed?.pipelineTask} (ran ${ran.join(", ")}), expected the first task`,
          );
          const shown = gitlabApi!.statusesOf(
            sourceProject,
            start.run.spec.params.find((p: any) => p.name === "revision").value,
          );
          expect(
            shown.at(-1)?.status === "failed" &&
              shown.at(-1)?.description === "Failed in generate-image-tag",
            `GitLab shows ${JSON.stringify(shown.at(-1))}`,
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
          const again = structuredClone(newer.start);
          again.run.metadata.name = `${newer.start.run.metadata.name}-again`;
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
          const urls = first.start.run.spec.params
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
      [
        "a push for an unknown project starts nothing, whichever app's token it carries",
        async () => {
          const sha = git(root, ["--git-dir", sshd!.repo(sourceProject), "rev-parse", "main"]);
          const triggers = world.listener.triggers.length;
          expect(triggers >= 2, `the listener selects ${triggers} Trigger(s), expected two apps'`);
          for (const token of [world.app.token, world.other.token]) {
            const outcome = deliverPush(world, sha, { project: "shop/unknown", token });
            expect(
              outcome.created.length === 0,
              `created ${outcome.created.length} PipelineRun(s)`,
            );
            // Every app's filter saw it and said no, before any token was compared.
            expect(
              outcome.calls.cel === triggers && (outcome.calls.gitlab ?? 0) === 0,
              `interceptor calls ${JSON.stringify(outcome.calls)}`,
            );
          }
        },
      ],
      [
        "app X's payload with app Y's token starts nothing; Y's own push starts only Y's pipeline",
        async () => {
          const sha = git(root, ["--git-dir", sshd!.repo(sourceProject), "rev-parse", "main"]);
          const stolen = deliverPush(world, sha, { token: world.other.token });
          expect(stolen.created.length === 0, `created ${stolen.created.length} PipelineRun(s)`);
          const refusal = stolen.stopped[pushTriggerId(world.app)];
          expect(
            /Invalid X-GitLab-Token/.test(refusal ?? ""),
            `X's Trigger stopped with ${refusal}`,
          );
          // The same listener and token do start Y's pipeline for Y's project, and only that.
          const otherPipeline =
            world.clusters[world.other.namespace]?.pipelines[pipelineName(world.other)];
          expect(otherPipeline, `no Pipeline in ${world.other.namespace}`);
          started(
            deliverPush(world, sha, {
              project: world.other.sourceProject,
              token: world.other.token,
            }),
            world.other.namespace,
            otherPipeline.metadata.name,
          );
        },
      ],
      [
        "a push to another branch starts nothing",
        async () => {
          const head = operationsHead(world);
          const sha = push(world, "work on a feature branch", "feature");
          const pushed = git(root, [
            "--git-dir",
            sshd!.repo(sourceProject),
            "rev-parse",
            "feature",
          ]);
          expect(pushed === sha, `the feature branch is at ${pushed}, pushed ${sha}`);
          const outcome = deliverPush(world, sha, { branch: "feature" });
          expect(outcome.created.length === 0, `created ${outcome.created.length} PipelineRun(s)`);
          const refusal = outcome.stopped[pushTriggerId(world.app)];
          expect(refusal === "cel: filter false", `X's Trigger stopped with ${refusal}`);
          expect((outcome.calls.gitlab ?? 0) === 0, "a token was checked for another branch");
          expect(operationsHead(world) === head, "the operations repository changed");
        },
      ],
      [
        "a newer push cancels the older run (CancelledRunFinally): GitLab shows canceled on the older commit, success on the newer",
        async () => {
          // The build namespace's PipelineRuns live in the fake API server (127.0.0.1); the
          // newer run's real cancel step (kubectl + jq) lists and patches them with the token
          // the tekton-cancel ServiceAccount would mount, and the older run is told its
          // spec.status by polling the same object.
          const ns = world.app.namespace;
          // https: kubectl sends the token over TLS only (see fakeKubeApi.ts).
          const tls = selfSignedLoopbackCert(path.join(root, "kube-api-tls"));
          const api = await startFakeKubeApi([ns], tls);
          const apiToken = "rehearsal-tekton-cancel-sa-token";
          try {
            const older = push(world, "older, to be superseded");
            const newer = push(world, "newer, supersedes");
            const olderStart = startedBy(world, older);
            const newerStart = startedBy(world, newer);
            // The API server stamps creationTimestamp in whole seconds; the pushes are a
            // minute apart here, so the older run is strictly older.
            const created = (run: any, minute: number) => {
              const object = structuredClone(run);
              object.metadata.creationTimestamp = `2026-11-29T23:${minute}:00Z`;
              object.status = {
                conditions: [{ type: "Succeeded", status: "Unknown", reason: "Running" }],
              };
              api.runs.get(ns)!.set(object.metadata.name, object);
              return object.metadata.name as string;
            };
            const finished = (name: string, record: PipelineRunRecord) => {
              const object = api.runs.get(ns)!.get(name);
              const reason = record.cancelled
                ? "Cancelled"
                : record.succeeded
                  ? "Succeeded"
                  : "Failed";
              object.status = {
                conditions: [
                  { type: "Succeeded", status: record.succeeded ? "True" : "False", reason },
                ],
              };
            };
            const specStatus = (name: string) => () => api.runs.get(ns)!.get(name)?.spec?.status;
            const withApi: Partial<RunOptions> = {
              watch: { ...world.options.watch, "Kubernetes API token": apiToken },
              serviceAccountKubeconfig: (account, namespace) => {
                expect(
                  account === CANCEL_SERVICE_ACCOUNT,
                  `ServiceAccount ${account} would mount an API token`,
                );
                return kubeconfig(api.url, namespace, apiToken, tls.cert);
              },
            };
            const olderName = created(olderStart.run, 10);
            const head = operationsHead(world);
            // The older run is held before its last task (the commit to the operations
            // repository), i.e. while it is still running, until it is cancelled.
            let reachedLast!: () => void;
            const atLast = new Promise<void>((resolve) => (reachedLast = resolve));
            // Released once the newer run is done, so a cancel that never comes fails the
            // scenario instead of holding the rehearsal.
            let release!: () => void;
            const held = new Promise<void>((resolve) => (release = resolve));
            const olderRun = run(world, olderStart, {
              ...withApi,
              specStatus: specStatus(olderName),
              beforeTask: async (_task, isLast) => {
                if (isLast) {
                  reachedLast();
                  await held;
                }
              },
            });
            await Promise.race([atLast, olderRun]);
            const newerName = created(newerStart.run, 11);
            const newerRecord = await run(world, newerStart, {
              ...withApi,
              specStatus: specStatus(newerName),
            });
            finished(newerName, newerRecord);
            release();
            const olderRecord = await olderRun;
            finished(olderName, olderRecord);

            if (process.env.REHEARSAL_VERBOSE) {
              for (const [sha, record] of [
                [older, olderRecord],
                [newer, newerRecord],
              ] as const) {
                const statuses = gitlabApi!
                  .statusesOf(world.sourceProject, sha)
                  .map((s) => `${s.status} (${s.description})`);
                const cancelLog = record.taskRuns
                  .find((t) => t.pipelineTask === CANCEL_TASK_NAME)
                  ?.steps.map((s) => s.log.trim())
                  .join(" | ");
                console.error(
                  `${record.name}: ${record.taskRuns.map((t) => `${t.pipelineTask}=${t.reason ?? (t.succeeded ? "Succeeded" : "Failed")}`).join(", ")}; GitLab: ${statuses.join(", ")}; cancel: ${cancelLog}`,
                );
              }
            }
            expect(newerRecord.succeeded, explain(newerRecord));
            const patches = api.requests
              .filter((r) => r.method === "PATCH")
              .map((r) => `${r.path} ${r.contentType} ${r.body}`);
            expect(
              patches.join("; ") ===
                `/apis/tekton.dev/v1/namespaces/${ns}/pipelineruns/${olderName} application/merge-patch+json {"spec":{"status":"CancelledRunFinally"}}`,
              `PATCHes: ${patches.join("; ") || "none"}`,
            );
            expect(
              api.runs.get(ns)!.get(olderName).spec.status === "CancelledRunFinally" &&
                api.runs.get(ns)!.get(newerName).spec.status === undefined,
              `spec.status older ${api.runs.get(ns)!.get(olderName).spec.status}, newer ${api.runs.get(ns)!.get(newerName).spec.status}`,
            );
            // Older: its held last task was cancelled (TaskRunCancelled), nothing after it
            // ran, finally did; the run is cancelled, not failed.
            const lastTask = olderRecord.taskRuns.find((t) => t.reason === "TaskRunCancelled");
            expect(
              olderRecord.cancelled &&
                !olderRecord.error &&
                lastTask &&
                lastTask.steps.length === 0,
              `the older run was not cancelled: ${olderRecord.error ?? explain(olderRecord)}`,
            );
            expect(
              olderRecord.taskRuns.at(-1)?.pipelineTask === "report-result" &&
                olderRecord.taskRuns.at(-1)?.succeeded,
              `the older run's finally did not report: ${olderRecord.taskRuns.map((t) => t.pipelineTask).join(", ")}`,
            );
            const shown = (sha: string) =>
              gitlabApi!.statusesOf(world.sourceProject, sha).map((s) => s.status);
            // What each run posted, in order: running (beside the first task), then the result.
            const posted = (sha: string) =>
              gitlabApi!
                .requestsOf("POST", "/statuses/")
                .filter((r) => r.rawPath.endsWith(sha))
                .map((r) => `${r.body.state} ${r.status}`)
                .join(", ");
            expect(
              posted(older) === "running 201, canceled 201" &&
                posted(newer) === "running 201, success 201",
              `posted on the older commit: ${posted(older) || "nothing"}; on the newer: ${posted(newer) || "nothing"}`,
            );
            const olderShown = gitlabApi!.statusesOf(world.sourceProject, older).at(-1);
            expect(
              olderShown?.status === "canceled" &&
                olderShown.description ===
                  `Cancelled during ${lastTask.pipelineTask}`.concat(
                    " (a newer push, by hand, or out of time)",
                  ),
              `GitLab shows ${JSON.stringify(olderShown)} on the older commit`,
            );
            expect(
              shown(newer).at(-1) === "success",
              `GitLab shows ${shown(newer).join(", ") || "nothing"} on the newer commit`,
            );
            // The newer commit is deployed; the older one never was.
            expect(
              deployedCommit(world) === newer && operationsHead(world) !== head,
              `deployed ${deployedImage(world)}, expected ${newer}`,
            );
            // Only the cancel steps (one per run) held the API token, and every API call
            // carried it.
            const holders = [olderRecord, newerRecord].flatMap((r) =>
              r.taskRuns.flatMap((t) =>
                t.steps
                  .filter((s) => s.sees.includes("Kubernetes API token"))
                  .map((s) => `${t.pipelineTask}/${s.name}`),
              ),
            );
            expect(
              holders.join(", ") === `${CANCEL_TASK_NAME}/cancel, ${CANCEL_TASK_NAME}/cancel`,
              `the API token reaches ${holders.join(", ") || "no step"}`,
            );
            expect(
              api.requests.length > 0 &&
                api.requests.every((r) => r.authorization === `Bearer ${apiToken}`),
              `API calls without the token: ${api.requests.filter((r) => r.authorization !== `Bearer ${apiToken}`).length}`,
            );
          } finally {
            await api.close();
          }
        },
      ],
      [
        "a merge request opened builds its head from refs/merge-requests/<iid>/head without pushing; GitLab shows running, then success on it",
        async () => {
          const head = operationsHead(world);
          const pushedBefore = registryLines().length;
          const sha = pushToMergeRequest(1, "add-greeting", "greet in a merge request");
          const mr = mergeRequest(1, "add-greeting", sha);
          const start = started(mergeRequestEvent(mr, "open"), appNamespace, mergeRequestPipeline);
          expect(
            start.run.metadata.labels?.[MERGE_REQUEST_LABEL] === "1" &&
              start.run.metadata.annotations?.["tekton-gitlab.io/ref"] ===
                "refs/merge-requests/1/head",
            `the run's labels ${JSON.stringify(start.run.metadata.labels)}, annotations ${JSON.stringify(start.run.metadata.annotations)}`,
          );
          const record = await runOnApi(start);
          merged.first = { mr, start, record };
          expect(record.succeeded, explain(record));
          const fetched = record.taskRuns.find((t) => t.pipelineTask === MERGE_REQUEST_TASKS.fetch);
          expect(
            fetched?.results["commit-sha"] === sha &&
              fetched.steps[0].log.includes(`commit ${sha} will be built, not pushed`),
            `fetched ${fetched?.results["commit-sha"]}: ${fetched?.steps[0]?.log.trim()}`,
          );
          const build = record.taskRuns.find((t) => t.pipelineTask === MERGE_REQUEST_TASKS.build);
          const kaniko = build?.steps ?? [];
          expect(
            kaniko.length === 1 &&
              kaniko[0].name === "build" &&
              kaniko[0].kind === "kaniko" &&
              kaniko[0].report?.noPush === true &&
              kaniko[0].report.destination === "" &&
              kaniko[0].report.pushed.length === 0,
            `the build step(s) ${JSON.stringify(kaniko.map((s) => ({ name: s.name, report: s.report })))}`,
          );
          expect(
            registryLines().length === pushedBefore,
            `pushed: ${registryLines().slice(pushedBefore).join(", ")}`,
          );
          // No registry credentials in any step of it (no mergeRequests.registrySecretName):
          // never the push build's registry-credentials, which its Kaniko step does get.
          const registrySeen = record.taskRuns.flatMap((t) =>
            t.steps.flatMap((s) =>
              s.sees.filter((l) => l.startsWith("registry")).map((l) => `${s.name}: ${l}`),
            ),
          );
          expect(
            registrySeen.length === 0 && kaniko[0].report?.registryCredentials === false,
            `the merge request run's steps see ${registrySeen.join(", ")}`,
          );
          const pushKaniko = runs.first?.record.taskRuns
            .flatMap((t) => t.steps)
            .find((s) => s.kind === "kaniko");
          expect(
            pushKaniko === undefined || pushKaniko.sees.includes("registry config"),
            `the push build's Kaniko step sees ${pushKaniko?.sees.join(", ")}: the check above proves nothing`,
          );
          expect(operationsHead(world) === head, "the operations repository changed");
          const writeKey = record.taskRuns.flatMap((t) =>
            t.steps.filter((s) => s.sees.includes("git-write key")).map((s) => s.name),
          );
          expect(writeKey.length === 0, `the git-write key reaches ${writeKey.join(", ")}`);
          expect(
            postedOn(sha) === "running 201, success 201",
            `posted ${postedOn(sha) || "nothing"}`,
          );
          const shown = gitlabApi!.statusesOf(sourceProject, sha).at(-1);
          expect(
            shown?.name === mergeRequestStatus &&
              shown.ref === "add-greeting" &&
              shown.status === "success" &&
              shown.description === `Built, not pushed; nothing deployed (${sha.slice(0, 8)})`,
            `GitLab shows ${JSON.stringify(shown)}`,
          );
        },
      ],
      [
        "a merge request updated twice: the older run is cancelled (GitLab: canceled), the newer succeeds; a push build and another merge request's run beside them go on",
        async () => {
          const api = await kubeApi();
          const patchesBefore = api.requests.filter((r) => r.method === "PATCH").length;
          // Started in this order, each held before its last task: a push build of the app's
          // branch, merge request 3's run, and merge request 2's run of its first push.
          const base = pushToMergeRequest(2, "resize", "resize, first draft");
          const pushed = push(world, "a push beside the merge requests");
          const pushHold = holdAtLast();
          const pushRun = runOnApi(startedBy(world, pushed), { beforeTask: pushHold.beforeTask });
          const otherSha = pushToMergeRequest(3, "rename", "rename, another merge request");
          const otherMr = mergeRequest(3, "rename", otherSha);
          const otherHold = holdAtLast();
          const otherRun = runOnApi(
            started(mergeRequestEvent(otherMr, "open"), appNamespace, mergeRequestPipeline),
            { beforeTask: otherHold.beforeTask },
          );
          const older = pushToMergeRequest(2, "resize", "resize, second draft");
          const olderStart = started(
            mergeRequestEvent(mergeRequest(2, "resize", older), "update", base),
            appNamespace,
            mergeRequestPipeline,
          );
          const olderHold = holdAtLast();
          const olderRun = runOnApi(olderStart, { beforeTask: olderHold.beforeTask });
          await Promise.all([
            Promise.race([pushHold.atLast, pushRun]),
            Promise.race([otherHold.atLast, otherRun]),
            Promise.race([olderHold.atLast, olderRun]),
          ]);
          const newer = pushToMergeRequest(2, "resize", "resize, final");
          const newerRecord = await runOnApi(
            started(
              mergeRequestEvent(mergeRequest(2, "resize", newer), "update", older),
              appNamespace,
              mergeRequestPipeline,
            ),
          );
          for (const hold of [pushHold, otherHold, olderHold]) hold.release();
          const [pushRecord, otherRecord, olderRecord] = await Promise.all([
            pushRun,
            otherRun,
            olderRun,
          ]);
          expect(newerRecord.succeeded, explain(newerRecord));
          expect(pushRecord.succeeded && !pushRecord.cancelled, explain(pushRecord));
          expect(otherRecord.succeeded && !otherRecord.cancelled, explain(otherRecord));
          const patches = api.requests
            .filter((r) => r.method === "PATCH")
            .slice(patchesBefore)
            .map((r) => `${r.path.split("/").pop()} ${r.body}`);
          expect(
            patches.join("; ") ===
              `${olderStart.run.metadata.name} {"spec":{"status":"CancelledRunFinally"}}`,
            `PATCHes: ${patches.join("; ") || "none"}`,
          );
          const cancelledTask = olderRecord.taskRuns.find((t) => t.reason === "TaskRunCancelled");
          expect(
            olderRecord.cancelled &&
              cancelledTask?.pipelineTask === MERGE_REQUEST_TASKS.build &&
              olderRecord.taskRuns.at(-1)?.pipelineTask === "report-result",
            `the older run: ${olderRecord.error ?? olderRecord.taskRuns.map((t) => `${t.pipelineTask}=${t.reason ?? t.succeeded}`).join(", ")}`,
          );
          const shown = (sha: string) => gitlabApi!.statusesOf(sourceProject, sha).at(-1);
          expect(
            postedOn(older) === "running 201, canceled 201" &&
              postedOn(newer) === "running 201, success 201" &&
              shown(older)?.name === mergeRequestStatus &&
              shown(otherSha)?.status === "success" &&
              shown(pushed)?.status === "success",
            `posted on the older: ${postedOn(older)}; the newer: ${postedOn(newer)}; merge request 3: ${postedOn(otherSha)}; the push: ${postedOn(pushed)}`,
          );
        },
      ],
      [
        "a '/retest' comment on a merge request builds its head again; another comment starts nothing",
        async () => {
          const first = merged.first;
          expect(first?.record.succeeded, "the merge request scenario did not succeed");
          const chat = comment(first.mr, "This MR needs work.");
          expect(
            chat.created.length === 0 &&
              chat.stopped[mergeRequestTriggerId("note")] === "cel: filter false",
            `a comment: created ${chat.created.length}, stopped ${JSON.stringify(chat.stopped)}`,
          );
          const start = started(
            comment(first.mr, " /retest\n"),
            appNamespace,
            mergeRequestPipeline,
          );
          const revision = start.run.spec.params.find((p: any) => p.name === "revision")?.value;
          expect(revision === first.mr.sha, `the retest builds ${revision}`);
          const record = await runOnApi(start);
          expect(record.succeeded, explain(record));
          expect(
            postedOn(first.mr.sha) === "running 201, success 201, running 201, success 201",
            `posted ${postedOn(first.mr.sha)}`,
          );
        },
      ],
      [
        "a label change (update without oldrev), a close and a fork's merge request start nothing",
        async () => {
          const first = merged.first;
          expect(first, "the merge request scenario did not run");
          const events: [string, ReturnType<typeof mergeRequestEvent>][] = [
            ["a label change", mergeRequestEvent(first.mr, "update")],
            ["a close", mergeRequestEvent({ ...first.mr, state: "closed" }, "close")],
            [
              "a fork's merge request",
              mergeRequestEvent({ ...first.mr, iid: 5, sourceProjectId: 4242 }, "open"),
            ],
          ];
          for (const [what, outcome] of events) {
            expect(
              outcome.created.length === 0 &&
                outcome.stopped[mergeRequestTriggerId("mergeRequest")] === "cel: filter false" &&
                (outcome.calls.gitlab ?? 0) === 0,
              `${what}: created ${outcome.created.length}, stopped ${JSON.stringify(outcome.stopped)}, calls ${JSON.stringify(outcome.calls)}`,
            );
          }
        },
      ],
      [
        "a broken Dockerfile in a merge request: GitLab shows failed, naming the task, the step and the exit code",
        async () => {
          const api = await kubeApi();
          const sha = pushToMergeRequest(
            4,
            "broken-dockerfile",
            "a typo in the Dockerfile",
            (dir) => fs.appendFileSync(path.join(dir, "source", "Dockerfile"), "RUNN echo typo\n"),
          );
          const start = started(
            mergeRequestEvent(mergeRequest(4, "broken-dockerfile", sha), "open"),
            appNamespace,
            mergeRequestPipeline,
          );
          const record = await runOnApi(start);
          const build = record.taskRuns.find((t) => t.pipelineTask === MERGE_REQUEST_TASKS.build);
          expect(
            !record.succeeded && build?.steps[0]?.exitCode === 1,
            `the run ${record.succeeded ? "succeeded" : explain(record)}`,
          );
          const shown = gitlabApi!.statusesOf(sourceProject, sha).at(-1);
          expect(
            shown?.status === "failed" &&
              shown.description ===
                `Failed in ${MERGE_REQUEST_TASKS.build}, step build: exit code 1`,
            `GitLab shows ${JSON.stringify(shown)}`,
          );
          // Read through the status reader's token and Role; the token reaches that pod only.
          const reads = api.requests.filter(
            (r) =>
              r.path.endsWith("/taskruns") &&
              r.query.labelSelector === `tekton.dev/pipelineRun=${start.run.metadata.name}`,
          );
          expect(
            reads.length > 0 &&
              reads.every(
                (r) => r.authorization === `Bearer ${apiTokens[STATUS_READER_SERVICE_ACCOUNT]}`,
              ),
            `TaskRun reads: ${reads.length}`,
          );
          const holders = record.taskRuns.flatMap((t) =>
            t.steps
              .filter((s) => s.sees.includes(tokenLabel(STATUS_READER_SERVICE_ACCOUNT)))
              .map((s) => `${t.pipelineTask}/${s.name}`),
          );
          expect(
            holders.join(", ") === "report-result/describe-failure, report-result/post-status",
            `the status reader's token reaches ${holders.join(", ") || "no step"}`,
          );
          const ns = `/apis/tekton.dev/v1/namespaces/${appNamespace}`;
          const answers = [
            await apiStatus(STATUS_READER_SERVICE_ACCOUNT, `${ns}/taskruns`),
            await apiStatus(STATUS_READER_SERVICE_ACCOUNT, `${ns}/pipelineruns`),
            await apiStatus(CANCEL_SERVICE_ACCOUNT, `${ns}/taskruns`),
          ];
          expect(
            answers.join(",") === "200,403,403",
            `RBAC: reader lists taskruns ${answers[0]}, pipelineruns ${answers[1]}; cancel lists taskruns ${answers[2]}`,
          );
        },
      ],
    ];

    const operationsBefore = operationsHead(world);
    for (const [index, [name, body]] of (TRY ? scenarios.slice(0, 1) : scenarios).entries()) {
      try {
        await body();
        outcomes.push({ name });
        if (!TRY) console.log(`ok   ${index + 1} ${name}`);
      } catch (error) {
        outcomes.push({ name, error: (error as Error).message });
        console.log(`FAIL ${index + 1} ${name}: ${oneLine((error as Error).message)}`);
      }
    }
    if (TRY && outcomes.every((o) => !o.error)) {
      const { sha, start, record } = runs.first;
      const operationsCommit = operationsHead(world);
      const opsGit = ["--git-dir", world.sshd.repo(operationsProject)];
      const summary = formatPushSummary({
        sourceProject,
        branch: world.app.branch,
        pushed: sha,
        pipelineRun: start.run.metadata.name ?? record.name,
        ...buildResults(record),
        operationsProject,
        operationsCommit,
        operationsSubject: git(root, [...opsGit, "log", "-1", "--format=%s", operationsCommit]),
        file: world.deploymentFile,
        ...changedLines(
          git(root, [
            ...opsGit,
            "diff",
            "-U0",
            operationsBefore,
            operationsCommit,
            "--",
            world.deploymentFile,
          ]),
        ),
        seconds: (Date.now() - STARTED_AT) / 1000,
      });
      console.log(summary.join("\n"));
    }
  } catch (error) {
    outcomes.push({ name: "setup", error: (error as Error).message });
    console.log(`FAIL setup: ${(error as Error).message}`);
  } finally {
    await (await mergeRequestApi?.catch(() => undefined))?.close();
    await gitlabApi?.close();
    await sshd?.stop();
    stopAll();
    useKeyMaterial(undefined);
    // REHEARSAL_KEEP=1 keeps the directory for debugging (and says where it is).
    if (process.env.REHEARSAL_KEEP) console.error(`kept ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  }
  const failed = outcomes.filter((o) => o.error).length;
  // CI's budget is OVERALL_TIMEOUT_MS; `--try` says its own time in its summary.
  if (!TRY) console.error(`rehearsal: took ${((Date.now() - STARTED_AT) / 1000).toFixed(1)} s`);
  if (!TRY || failed > 0) {
    console.log(`rehearsal: ${outcomes.length - failed} passed, ${failed} failed`);
  }
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
