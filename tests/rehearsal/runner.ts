// Runs a PipelineRun of the registered objects the way Tekton Pipelines v1.15.0 would, on this
// machine: pipeline tasks in DAG order (pkg/reconciler/pipeline/dag: `runAfter` plus every
// `$(tasks.<t>.results.*)` reference), then `finally` tasks; each TaskRun's steps in order,
// stopping at the first failure. Paths: $(workspaces.<w>.path) is the host directory standing
// for the volume, and Tekton's fixed /tekton/... paths are remapped into the TaskRun's own
// directory (substitution.ts `remapTektonPaths`).
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { copyCredsToHome, writeCredsDir } from "./credsInit";
import { classify, ImageRuntime, which } from "./images";
import {
  addNamed,
  assertResolved,
  remapTektonPaths,
  Replacements,
  substitute,
  substituteDeep,
} from "./substitution";
import { ClusterObjects, materialise, PipelineRunVolumes } from "./workspaces";

export interface Cluster extends ClusterObjects {
  tasks: Record<string, any>;
  pipelines: Record<string, any>;
  serviceAccounts: Record<string, any>;
}

export interface StepRecord {
  name: string;
  /** What ran it: busybox sh (alpine), bash and kubectl, or the Kaniko stand-in. */
  kind: ImageRuntime["kind"];
  /** The Kaniko stand-in's report of what it was given, when it ran. */
  report?: any;
  exitCode: number;
  log: string;
  /** Labels of the watched secrets readable by this step (env, mounted dirs, HOME). */
  sees: string[];
}

export interface TaskRunRecord {
  pipelineTask: string;
  name: string;
  succeeded: boolean;
  steps: StepRecord[];
  results: Record<string, string>;
  /** Why it failed before any step ran (unresolved variable, missing object). */
  error?: string;
  /** The condition reason when not Succeeded/Failed: `TaskRunCancelled`. */
  reason?: string;
  /** When it ended (the TaskRun's status.completionTime). */
  completionTime?: string;
}

export interface PipelineRunRecord {
  name: string;
  succeeded: boolean;
  taskRuns: TaskRunRecord[];
  results: Record<string, string>;
  error?: string;
  /** Gracefully cancelled (spec.status CancelledRunFinally) while its DAG tasks ran. */
  cancelled?: boolean;
}

export interface RunOptions {
  root: string;
  images: Record<string, ImageRuntime>;
  /** Secret values to look for in each step's view, by label. */
  watch: Record<string, string>;
  /** Awaited before each pipeline task starts (scenarios hold a run here). */
  beforeTask?: (pipelineTask: string, isLast: boolean) => Promise<void>;
  stepTimeoutMs: number;
  /** Receives each started process, so the caller can stop it. */
  track: (pid: number) => void;
  untrack: (pid: number) => void;
  /**
   * The run's `spec.status` as the API server holds it now (polled while the run goes on). Only
   * `CancelledRunFinally` is emulated (see `runPipelineRun`); any other value ends the run with an
   * error.
   */
  specStatus?: () => string | undefined;
  /**
   * The kubeconfig a TaskRun's pod gets when its ServiceAccount mounts its API token
   * (`automountServiceAccountToken: true`). It stands for client-go's in-cluster config (the
   * projected token under /var/run/secrets/kubernetes.io/serviceaccount and
   * KUBERNETES_SERVICE_HOST), a path no step here can be given: the file is handed to the
   * step's kubectl through KUBECONFIG. Without it no step reaches an API server.
   */
  serviceAccountKubeconfig?: (serviceAccountName: string, namespace: string) => string;
  /**
   * Told of every TaskRun once it has ended, before the next task starts (what the API server
   * would then hold for it: tests/rehearsal/taskRuns.ts gives it Tekton's shape).
   */
  onTaskRun?: (record: TaskRunRecord) => void;
}

/** The TaskRun condition reason of a cancelled TaskRun (pipeline v1.15.0 TaskRunReasonCancelled). */
export const TASK_RUN_CANCELLED = "TaskRunCancelled";

/** The host's util-linux setpriv (not busybox's applet, which a step's PATH may hold). */
const SETPRIV = which("setpriv") ?? "/usr/bin/setpriv";

let uid = 0;
const shortId = () =>
  (++uid).toString(36).padStart(5, "0") + Math.random().toString(36).slice(2, 7);

function resultRefs(value: string): { task: string; result: string }[] {
  return [...value.matchAll(/\$\(tasks\.([^.()]+)\.results\.([^.()[\]]+)\)/g)].map((m) => ({
    task: m[1],
    result: m[2],
  }));
}

function paramValues(specs: any[] | undefined, given: any[] | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const spec of specs ?? []) if (spec.default !== undefined) values[spec.name] = spec.default;
  for (const param of given ?? []) values[param.name] = param.value;
  for (const spec of specs ?? []) {
    if (!(spec.name in values)) throw new Error(`param ${spec.name} has no value and no default`);
  }
  return values;
}

/**
 * pkg/apis/pipeline/v1/merge.go `MergeStepsWithStepTemplate`: a strategic merge of the step over
 * the template; `env` merges by name (the step's value wins), objects field by field.
 */
function mergeStep(template: any, step: any): any {
  if (!template) return step;
  const merged: any = { ...template, ...step };
  if (template.env || step.env) {
    const env = new Map<string, any>();
    for (const e of template.env ?? []) env.set(e.name, e);
    for (const e of step.env ?? []) env.set(e.name, e);
    merged.env = [...env.values()];
  }
  if (template.securityContext || step.securityContext) {
    merged.securityContext = { ...template.securityContext, ...step.securityContext };
  }
  return merged;
}

function scan(
  dirs: string[],
  env: Record<string, string>,
  watch: Record<string, string>,
): string[] {
  const seen = new Set<string>();
  const check = (text: string) => {
    for (const [label, secret] of Object.entries(watch)) if (text.includes(secret)) seen.add(label);
  };
  for (const value of Object.values(env)) check(value);
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!full.endsWith(`${path.sep}.git${path.sep}objects`)) walk(full);
      } else if (entry.isFile() && fs.statSync(full).size < 1 << 20) {
        check(fs.readFileSync(full, "latin1"));
      }
    }
  };
  for (const dir of dirs) if (fs.existsSync(dir)) walk(dir);
  return [...seen].sort();
}

function runProcess(
  argv: string[],
  env: Record<string, string>,
  cwd: string,
  user: { uid?: number; gid?: number; groups: number[] },
  options: RunOptions,
  signal?: AbortSignal,
): Promise<{ exitCode: number; log: string; cancelled?: boolean }> {
  let command = argv;
  if (user.uid !== undefined && user.uid !== process.getuid?.()) {
    if (process.getuid?.() !== 0) {
      throw new Error(`the step asks to run as UID ${user.uid}: the rehearsal must run as root`);
    }
    // util-linux setpriv: the UID, GID and supplementary groups (the pod's fsGroup) a container
    // runtime gives the process, without a login shell or PAM.
    const gid = user.gid ?? user.uid;
    const groups = [...new Set([gid, ...user.groups])];
    command = [
      SETPRIV,
      `--reuid=${user.uid}`,
      `--regid=${gid}`,
      `--groups=${groups.join(",")}`,
      "--",
      ...argv,
    ];
  }
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), {
      cwd,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    if (child.pid) options.track(child.pid);
    // A cancelled TaskRun's pod is stopped (taskrun.go `failTaskRun` deletes it).
    let cancelled = false;
    const onAbort = () => {
      cancelled = true;
      log += `\n[rehearsal] TaskRun cancelled\n`;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => {
      log += `\n[rehearsal] step timed out after ${options.stepTimeoutMs} ms\n`;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, options.stepTimeoutMs);
    child.on("error", (error) => {
      log += `${error.message}\n`;
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (child.pid) options.untrack(child.pid);
      resolve({ exitCode: code ?? 1, log, cancelled });
    });
  });
}

async function runTask(
  cluster: Cluster,
  pipelineRun: any,
  pipelineTask: any,
  taskRunName: string,
  runDir: string,
  runVolumes: PipelineRunVolumes,
  options: RunOptions,
  signal?: AbortSignal,
): Promise<TaskRunRecord> {
  const record: TaskRunRecord = {
    pipelineTask: pipelineTask.name,
    name: taskRunName,
    succeeded: false,
    steps: [],
    results: {},
  };
  const task = cluster.tasks[pipelineTask.taskRef?.name];
  if (!task)
    throw new Error(`pipeline task ${pipelineTask.name}: no Task ${pipelineTask.taskRef?.name}`);
  const spec = task.spec;
  const taskRunDir = path.join(runDir, taskRunName);
  const tektonDir = path.join(taskRunDir, "tekton");
  for (const sub of ["home", "results", "scripts"]) {
    fs.mkdirSync(path.join(tektonDir, sub), { recursive: true });
    fs.chmodSync(path.join(tektonDir, sub), 0o777); // emptyDirs
  }
  const podSecurity = pipelineRun.spec.taskRunTemplate?.podTemplate?.securityContext ?? {};
  const fsGroup: number | undefined = podSecurity.fsGroup;

  // Workspaces: pipeline task binding -> PipelineRun binding -> directory.
  const workspacePaths: Record<string, string> = {};
  for (const decl of spec.workspaces ?? []) {
    const binding = (pipelineTask.workspaces ?? []).find((w: any) => w.name === decl.name);
    if (!binding) {
      if (decl.optional) continue;
      throw new Error(`pipeline task ${pipelineTask.name}: workspace ${decl.name} not bound`);
    }
    const runBinding = pipelineRun.spec.workspaces.find((w: any) => w.name === binding.workspace);
    if (!runBinding) throw new Error(`PipelineRun binds no workspace ${binding.workspace}`);
    const dir = materialise(
      { ...runBinding, name: binding.workspace },
      cluster,
      runVolumes,
      runDir,
      taskRunDir,
      fsGroup,
    );
    workspacePaths[decl.name] = binding.subPath ? path.join(dir, binding.subPath) : dir;
  }

  // Replacements (taskrun/resources/apply.go): params, context, workspaces, results, credentials.
  const replacements: Replacements = {};
  addNamed(replacements, "params", paramValues(spec.params, pipelineTask.params));
  Object.assign(replacements, {
    "context.taskRun.name": taskRunName,
    "context.taskRun.namespace": task.metadata.namespace,
    // A Kubernetes object UID: a random UUID, new for every TaskRun (a re-run too).
    "context.taskRun.uid": randomUUID(),
    "context.task.name": task.metadata.name,
    "context.task.retry-count": "0",
    "credentials.path": "/tekton/creds",
  });
  for (const [name, dir] of Object.entries(workspacePaths)) {
    addNamed(replacements, "workspaces", { [name]: dir }, ".path");
    addNamed(replacements, "workspaces", { [name]: "true" }, ".bound");
  }
  for (const result of spec.results ?? []) {
    addNamed(replacements, "results", { [result.name]: `/tekton/results/${result.name}` }, ".path");
  }

  // Step-level workspaces (pkg/workspace/apply.go `mountAsIsolatedWorkspace`): once any step
  // lists a workspace, only the steps listing it have it mounted.
  const steps: any[] = spec.steps.map((step: any) => mergeStep(spec.stepTemplate, step));
  const isolated = new Set<string>();
  for (const step of steps) for (const usage of step.workspaces ?? []) isolated.add(usage.name);

  // pkg/apis/pipeline/v1/pipelinerun_types.go `GetTaskRunSpec` (used by pipelinerun.go
  // `createTaskRun`): the task's taskRunSpecs entry, else the run's taskRunTemplate.
  const serviceAccountName =
    (pipelineRun.spec.taskRunSpecs ?? []).find((s: any) => s.pipelineTaskName === pipelineTask.name)
      ?.serviceAccountName ??
    pipelineRun.spec.taskRunTemplate?.serviceAccountName ??
    "default";
  const serviceAccount = cluster.serviceAccounts[serviceAccountName];
  const credsDir = path.join(tektonDir, "creds");
  // The ServiceAccount's API token, only where it is mounted (see serviceAccountKubeconfig).
  const tokenDir = path.join(tektonDir, "serviceaccount");
  let kubeconfigFile: string | undefined;
  if (serviceAccount?.automountServiceAccountToken === true && options.serviceAccountKubeconfig) {
    fs.mkdirSync(tokenDir, { recursive: true, mode: 0o755 });
    kubeconfigFile = path.join(tokenDir, "kubeconfig");
    fs.writeFileSync(
      kubeconfigFile,
      options.serviceAccountKubeconfig(serviceAccountName, task.metadata.namespace),
      { mode: 0o644 },
    );
  }

  for (const [index, rawStep] of steps.entries()) {
    const step = substituteDeep(rawStep, replacements);
    const where = `${pipelineTask.name}/${step.name}`;
    const remap = (text: string) => remapTektonPaths(text, tektonDir);
    const runtime = options.images[classify(step.image, step.command)];
    const env: Record<string, string> = {
      PATH: runtime.bin,
      HOME: path.join(taskRunDir, "image-home"),
    };
    fs.mkdirSync(env.HOME, { recursive: true, mode: 0o777 });
    fs.chmodSync(env.HOME, 0o777);
    if (kubeconfigFile) env.KUBECONFIG = kubeconfigFile;
    for (const e of step.env ?? []) {
      if (e.valueFrom) throw new Error(`${where}: env ${e.name} valueFrom is not emulated`);
      assertResolved(e.value ?? "", `${where} env ${e.name}`);
      env[e.name] = remap(e.value ?? "");
    }
    const args: string[] = (step.args ?? []).map((a: string) => {
      assertResolved(a, `${where} args`);
      return remap(a);
    });
    const user = {
      uid: step.securityContext?.runAsUser as number | undefined,
      gid: step.securityContext?.runAsGroup as number | undefined,
      groups: fsGroup === undefined ? [] : [fsGroup],
    };
    const stepUid = user.uid ?? 0;
    const stepGid = user.gid ?? stepUid;

    // Hide isolated workspaces this step does not list.
    const hidden: [string, string][] = [];
    const listed = new Set((step.workspaces ?? []).map((u: any) => u.name));
    for (const name of isolated) {
      if (listed.has(name) || !workspacePaths[name]) continue;
      const away = path.join(taskRunDir, "unmounted", name);
      fs.mkdirSync(path.dirname(away), { recursive: true, mode: 0o700 });
      fs.renameSync(workspacePaths[name], away);
      hidden.push([workspacePaths[name], away]);
    }
    const visible = Object.entries(workspacePaths)
      .filter(([name]) => !isolated.has(name) || listed.has(name))
      .map(([, dir]) => dir);

    let argv: string[];
    if (step.script !== undefined) {
      assertResolved(step.script, `${where} script`);
      // pkg/pod/script.go: a script without `#!` gets `#!/bin/sh\nset -e\n`.
      let script = remap(step.script);
      if (!script.startsWith("#!")) script = `#!/bin/sh\nset -e\n${script}`;
      const interpreter = script.slice(2, script.indexOf("\n")).trim().split(/\s+/);
      const run = runtime.interpreters[interpreter[0]];
      if (!run) throw new Error(`${where}: ${interpreter[0]} is not in image ${step.image}`);
      const file = path.join(tektonDir, "scripts", `script-${index}-${shortId()}`);
      fs.writeFileSync(file, script, { mode: 0o755 });
      argv = [...run, ...interpreter.slice(1), file, ...args];
    } else {
      const command: string[] = (step.command ?? []).map(remap);
      const run = runtime.commands[command[0]];
      if (!run)
        throw new Error(`${where}: command ${command[0]} is not emulated for ${step.image}`);
      argv = [...run, ...command.slice(1), ...args];
      env.REHEARSAL_MOUNTS = JSON.stringify([...visible, env.HOME, credsDir]);
      env.REHEARSAL_REPORT = path.join(taskRunDir, `${step.name}.report.json`);
      env.REHEARSAL_REGISTRY = path.join(options.root, "registry.log");
    }

    // Credential init: the entrypoint writes /tekton/creds and copies it into $HOME.
    if (writeCredsDir(serviceAccount, cluster.secrets, credsDir)) {
      copyCredsToHome(credsDir, env.HOME, stepUid, stepGid);
    }
    const sees = scan(
      [...visible, env.HOME, credsDir, ...(kubeconfigFile ? [tokenDir] : [])],
      env,
      options.watch,
    );
    let outcome: { exitCode: number; log: string; cancelled?: boolean };
    try {
      outcome = await runProcess(argv, env, env.HOME, user, options, signal);
    } finally {
      for (const [at, away] of hidden) fs.renameSync(away, at);
    }
    const reportFile = env.REHEARSAL_REPORT;
    const report =
      reportFile && fs.existsSync(reportFile)
        ? JSON.parse(fs.readFileSync(reportFile, "utf8"))
        : undefined;
    record.steps.push({
      name: step.name,
      kind: runtime.kind,
      report,
      exitCode: outcome.exitCode,
      log: outcome.log,
      sees,
    });
    if (outcome.cancelled) {
      record.reason = TASK_RUN_CANCELLED;
      return record;
    }
    // pkg/apis/pipeline/v1/container_types.go `OnError` "continue": the step's exit code is
    // recorded and the next step runs; the TaskRun can still succeed.
    if (outcome.exitCode !== 0 && step.onError !== "continue") return record;
  }

  // pkg/entrypoint/entrypointer.go `readResultsFromDisk`: the file's bytes, not trimmed.
  for (const result of spec.results ?? []) {
    const file = path.join(tektonDir, "results", result.name);
    if (fs.existsSync(file)) record.results[result.name] = fs.readFileSync(file, "utf8");
  }
  record.succeeded = true;
  return record;
}

/** Runs `pipelineRun` (a PipelineRun manifest, tt params already substituted). */
export async function runPipelineRun(
  cluster: Cluster,
  pipelineRun: any,
  options: RunOptions,
): Promise<PipelineRunRecord> {
  const name = pipelineRun.metadata.name;
  const record: PipelineRunRecord = { name, succeeded: false, taskRuns: [], results: {} };
  const runDir = path.join(options.root, name);
  fs.mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const runVolumes: PipelineRunVolumes = { claims: {} };
  // Graceful cancellation, as pipeline v1.15.0 does it for `spec.status: CancelledRunFinally`
  // (pipelinerun_types.go PipelineRunSpecStatusCancelledRunFinally): pkg/reconciler/pipelinerun/
  // pipelinerun.go `reconcile` calls cancel.go `gracefullyCancelPipelineRun`, whose
  // `cancelPipelineTaskRuns` gives every running child TaskRun spec.status TaskRunCancelled
  // (taskrun.go then stops its pod and ends it Succeeded=False, reason TaskRunCancelled), and
  // whose `gracefullyCancelPipelineRun` leaves the run going so that finally runs;
  // resources/pipelinerunstate.go `DAGExecutionQueue` returns no further DAG task once the run
  // is gracefully cancelled (those left are skipped: pipelinerunresolution.go `skip`,
  // GracefullyCancelledSkip) and `GetFinalTasks` then starts the finally tasks. The emulator
  // polls the run's spec.status (options.specStatus), aborts the TaskRuns under way (their
  // running step is killed; one held in beforeTask ends without running a step) and schedules
  // no further DAG task.
  const cancel = new AbortController();
  let specStatusError: string | undefined;
  const poll = options.specStatus
    ? setInterval(() => {
        const status = options.specStatus!();
        if (status === "CancelledRunFinally") cancel.abort();
        else if (status !== undefined && status !== "" && !specStatusError) {
          specStatusError = `spec.status ${status} is not emulated`;
          cancel.abort();
        }
      }, 100)
    : undefined;
  try {
    const pipeline = cluster.pipelines[pipelineRun.spec.pipelineRef.name];
    if (!pipeline) throw new Error(`no Pipeline ${pipelineRun.spec.pipelineRef.name}`);
    const pipelineReplacements: Replacements = {};
    addNamed(
      pipelineReplacements,
      "params",
      paramValues(pipeline.spec.params, pipelineRun.spec.params),
    );
    Object.assign(pipelineReplacements, {
      "context.pipelineRun.name": name,
      "context.pipelineRun.namespace": pipeline.metadata.namespace,
      "context.pipelineRun.uid": randomUUID(),
      "context.pipeline.name": pipeline.metadata.name,
    });
    const results: Record<string, Record<string, string>> = {};
    const resolveTask = (pt: any): any => {
      const withParams = substituteDeep(pt, pipelineReplacements);
      const taskResults: Replacements = {};
      for (const [task, values] of Object.entries(results)) {
        for (const [result, value] of Object.entries(values)) {
          taskResults[`tasks.${task}.results.${result}`] = value;
        }
      }
      for (const param of withParams.params ?? []) {
        for (const ref of resultRefs(param.value)) {
          if (results[ref.task]?.[ref.result] === undefined) {
            throw new Error(`${pt.name}: result ${ref.result} of ${ref.task} was not produced`);
          }
        }
      }
      return substituteDeep(withParams, taskResults);
    };

    const tasks: any[] = pipeline.spec.tasks;
    const deps = (pt: any) => {
      const found = new Set<string>(pt.runAfter ?? []);
      for (const param of pt.params ?? [])
        for (const ref of resultRefs(String(param.value))) found.add(ref.task);
      return found;
    };
    const runPipelineTask = (pt: any) =>
      runTask(
        cluster,
        pipelineRun,
        resolveTask(pt),
        `${name}-${pt.name}`,
        runDir,
        runVolumes,
        options,
        cancel.signal,
      );
    const cancelledBeforeStart = (pt: any): TaskRunRecord => ({
      pipelineTask: pt.name,
      name: `${name}-${pt.name}`,
      succeeded: false,
      steps: [],
      results: {},
      reason: TASK_RUN_CANCELLED,
    });
    const ended = (taskRun: TaskRunRecord) => {
      taskRun.completionTime = new Date().toISOString();
      options.onTaskRun?.(taskRun);
    };
    const aborted = new Promise<void>((resolve) =>
      cancel.signal.addEventListener("abort", () => resolve(), { once: true }),
    );
    const done = new Set<string>();
    let failed = false;
    // The build's last tasks; a task whose failure is ignored (the status report beside the
    // first task) decides nothing and is not one of them.
    const last = tasks
      .filter((t) => t.onError !== "continue" && !tasks.some((o) => deps(o).has(t.name)))
      .map((t) => t.name);
    while (!failed && !cancel.signal.aborted && done.size < tasks.length) {
      const ready = tasks.filter(
        (t) => !done.has(t.name) && [...deps(t)].every((d) => done.has(d)),
      );
      if (ready.length === 0) throw new Error("the pipeline's tasks form a cycle");
      // Independent tasks run at the same time, as the PipelineRun reconciler starts them.
      const records = await Promise.all(
        ready.map(async (pt) => {
          // A TaskRun held here is cancelled too when the run is (its pod has not finished).
          if (options.beforeTask) {
            await Promise.race([options.beforeTask(pt.name, last.includes(pt.name)), aborted]);
          }
          const taskRun = cancel.signal.aborted
            ? cancelledBeforeStart(pt)
            : await runPipelineTask(pt);
          ended(taskRun);
          results[pt.name] = taskRun.results;
          done.add(pt.name);
          return taskRun;
        }),
      );
      record.taskRuns.push(...records);
      // A task with `onError: continue` neither fails the run nor stops the DAG (pipeline
      // v1.15.0 pipelinerunstate.go `IsStopping`).
      failed = records.some((r, i) => !r.succeeded && ready[i].onError !== "continue");
    }
    // What finally tasks may read (pipelinerunstate.go `GetPipelineTaskStatus`): each DAG
    // task's `status` (Succeeded, Failed, or None when it never ran) and `reason` (its TaskRun's
    // condition reason; the emulator's TaskRuns succeed or fail, nothing else), and the
    // aggregate `$(tasks.status)`: Failed when any TaskRun failed, else Completed when a task
    // was skipped, else Succeeded.
    const executionStatus: Replacements = {};
    let aggregate = "Succeeded";
    for (const pt of tasks) {
      const taskRun = record.taskRuns.find((r) => r.pipelineTask === pt.name);
      const status = taskRun === undefined ? "None" : taskRun.succeeded ? "Succeeded" : "Failed";
      executionStatus[`tasks.${pt.name}.status`] = status;
      // A cancelled TaskRun is Failed, with its own reason (`haveAnyRunsFailed`, `getReason`).
      executionStatus[`tasks.${pt.name}.reason`] =
        taskRun === undefined ? "" : (taskRun.reason ?? status);
      if (status === "Failed") aggregate = "Failed";
      else if (status === "None" && aggregate !== "Failed") aggregate = "Completed";
    }
    executionStatus["tasks.status"] = aggregate;
    if (specStatusError) throw new Error(specStatusError);
    // `finally` tasks run whatever happened (pkg/reconciler/pipelinerun: final tasks), and are
    // not cancelled by CancelledRunFinally.
    const noCancel = new AbortController().signal;
    for (const pt of pipeline.spec.finally ?? []) {
      const taskRun = await runTask(
        cluster,
        pipelineRun,
        resolveTask(substituteDeep(pt, executionStatus)),
        `${name}-${pt.name}`,
        runDir,
        runVolumes,
        options,
        noCancel,
      );
      ended(taskRun);
      record.taskRuns.push(taskRun);
      failed ||= !taskRun.succeeded && pt.onError !== "continue";
    }
    // A gracefully cancelled run ends Succeeded=False, reason Cancelled
    // (pipelinerunstate.go `GetPipelineConditionStatus`).
    if (cancel.signal.aborted) record.cancelled = true;
    record.succeeded = !failed && !cancel.signal.aborted;
    if (record.succeeded) {
      for (const result of pipeline.spec.results ?? []) {
        const taskResults: Replacements = {};
        for (const [task, values] of Object.entries(results)) {
          for (const [r, value] of Object.entries(values))
            taskResults[`tasks.${task}.results.${r}`] = value;
        }
        record.results[result.name] = substitute(String(result.value), taskResults);
      }
    }
  } catch (error) {
    record.error = (error as Error).message;
    record.succeeded = false;
  } finally {
    if (poll) clearInterval(poll);
  }
  return record;
}
