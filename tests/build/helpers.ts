// Config helpers and a small Tekton step runner shared by the pipeline tests.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseStackConfig } from "../../config/load";
import { AppConfig, ValidatedConfig } from "../../config/schema";
import { BuildContext, buildContext } from "../../tekton/build/context";
import { Pipeline, PipelineTask, Step, Task } from "../../tekton/core/types";
import { exampleConfig, withStructured } from "../harness/program";

export interface StackEdits {
  apps?: (apps: any[]) => any[];
  registry?: (registry: any) => any;
  gitSsh?: (gitSsh: any) => any;
  images?: (images: any) => any;
}

/** The example stack (Pulumi.dev.yaml plus test secrets), validated, with optional edits. */
export function stack(edits: StackEdits = {}): ValidatedConfig {
  let raw = exampleConfig();
  for (const key of ["apps", "registry", "gitSsh", "images"] as const) {
    const edit = edits[key];
    if (edit) raw = withStructured(raw, key, edit);
  }
  const registry = JSON.parse(raw["tekton-gitlab:registry"]);
  // The password is only valid beside a username (the config rejects it otherwise).
  if (registry.username === undefined) delete raw["tekton-gitlab:registryPassword"];
  return parseStackConfig(raw, {});
}

export function appAndContext(edits: StackEdits = {}): { app: AppConfig; ctx: BuildContext } {
  const config = stack(edits);
  return { app: config.apps[0], ctx: buildContext(config) };
}

/** Three apps in their own namespaces, built from the example app. */
export function multiAppStack(edits: Omit<StackEdits, "apps"> = {}): ValidatedConfig {
  return stack({
    ...edits,
    apps: ([template]) =>
      ["orders", "billing", "search"].map((name) => ({
        ...template,
        name,
        namespace: undefined,
        sourceProject: `shop/${name}`,
        operationsProject: `shop/${name}-operations`,
        imageRepository: `shop/${name}`,
        deploymentFile: `apps/${name}/deployment.yaml`,
        containerName: name,
      })),
  });
}

export function stepNamed(task: Task, name: string): Step {
  const step = task.spec.steps.find((s) => s.name === name);
  if (!step) throw new Error(`task ${task.metadata.name} has no step ${name}`);
  return step;
}

export function envOf(step: Step): Record<string, string> {
  return Object.fromEntries((step.env ?? []).map((e) => [e.name, e.value]));
}

export interface StepRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a script step the way Tekton would, with the interpreter its `#!` line names (this
 * machine's /bin/sh or /bin/bash): `$(params.*)`, `$(workspaces.*.path)` and
 * `$(results.*.path)` are substituted in the step's env and script (where Tekton substitutes
 * them), `$(context.taskRun.uid)` becomes a fresh UUID per run (`uid` to choose one), the
 * stepTemplate env is applied, and `bin` (stubs for git, kubectl, sleep...) comes
 * first on PATH.
 */
export function runScriptStep(
  task: Task,
  stepName: string,
  inputs: {
    params: Record<string, string>;
    workspaces: Record<string, string>;
    results?: string;
    home: string;
    bin?: string;
    extraEnv?: Record<string, string>;
    uid?: string;
    /** Run the script with this shell (e.g. `["busybox", "sh"]`) instead of its `#!` line. */
    shell?: string[];
  },
): Promise<StepRun> {
  const uid = inputs.uid ?? randomUUID();
  const step = stepNamed(task, stepName);
  if (!step.script) throw new Error(`step ${stepName} has no script`);
  if (!step.script.startsWith("#!/")) throw new Error(`step ${stepName} has no #! line`);
  const substitute = (text: string) =>
    text
      .replace(/\$\(params\.([a-z0-9-]+)\)/g, (_, name: string) => {
        if (!(name in inputs.params)) throw new Error(`test gave no value for param ${name}`);
        return inputs.params[name];
      })
      .replace(/\$\(workspaces\.([a-z0-9-]+)\.path\)/g, (_, name: string) => {
        if (!(name in inputs.workspaces)) throw new Error(`test bound no workspace ${name}`);
        return inputs.workspaces[name];
      })
      .replace(/\$\(results\.([a-z0-9-]+)\.path\)/g, (_, name: string) =>
        path.join(inputs.results ?? os.tmpdir(), name),
      )
      .replace(/\$\(context\.taskRun\.uid\)/g, uid);
  const templateEnv = Object.fromEntries(
    (task.spec.stepTemplate?.env ?? []).map((e) => [e.name, substitute(e.value)]),
  );
  const stepEnv = Object.fromEntries((step.env ?? []).map((e) => [e.name, substitute(e.value)]));
  const scriptFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "step-")), "script");
  fs.writeFileSync(scriptFile, substitute(step.script), { mode: 0o755 });
  return new Promise((resolve) => {
    const [command, ...args] = inputs.shell ? [...inputs.shell, scriptFile] : [scriptFile];
    execFile(
      command,
      args,
      {
        env: {
          PATH: [inputs.bin, process.env.PATH].filter(Boolean).join(":"),
          GIT_CONFIG_NOSYSTEM: "1",
          ...templateEnv,
          HOME: inputs.home,
          ...stepEnv,
          ...inputs.extraEnv,
        },
      },
      (error, stdout, stderr) => {
        fs.rmSync(path.dirname(scriptFile), { recursive: true, force: true });
        resolve({ code: error ? ((error as any).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Writes an executable stub into `bin`. */
export function stub(bin: string, name: string, body: string): void {
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

const tempDirs: string[] = [];

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** A Pipeline's DAG tasks, then its `finally` tasks. */
export function allPipelineTasks(pipeline: Pipeline): PipelineTask[] {
  return [...pipeline.spec.tasks, ...(pipeline.spec.finally ?? [])];
}
