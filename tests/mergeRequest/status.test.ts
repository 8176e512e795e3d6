// A merge request build's status on the merge request (issue 21 item 5): the status Task's two
// steps run for real, as Tekton runs them in one pod (a shared HOME), against the fake GitLab on
// 127.0.0.1: describe-failure.sh (bash, jq, a stub kubectl answering with TaskRuns) leaves the
// failed step's words, and post-status.sh with scripts/describe-result.sh posts them, cut to
// GitLab's one line. The push build's status script stays as it was.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { AppConfig } from "../../config/schema";
import { BuildContext } from "../../tekton/build/context";
import { buildPipeline } from "../../tekton/build/pipeline";
import { Pipeline, Task } from "../../tekton/core/types";
import { mergeRequestPipeline, mergeRequestTasks } from "../../tekton/mergeRequest/pipeline";
import { reportBuildStatusTask, statusScript } from "../../tekton/status/statusTasks";
import { FakeGitLab, StoredStatus } from "../gitlab/fakeGitLab";
import { requireTool } from "../harness/tools";
import {
  allPipelineTasks as allTasks,
  appAndContext,
  removeTempDirs,
  runScriptStep,
  StepRun,
  stub,
  tempDir,
} from "../build/helpers";

const PROJECT = "root/hello-python";
const SHA = "0123456789abcdef0123456789abcdef01234567";
const BRANCH = "feature/login";
const RUN = "build-hello-python-merge-request-x7k2p";
const TOKEN = "glpat-status-TOKEN-9c1d2e3f4a";
const STATUS_NAME = "tekton/hello-python/merge-request";

/** A failed TaskRun of this run as Tekton Pipelines v1.15.0 writes it (see scripts.test.ts). */
function failedTaskRun(pipelineTask: string, reason: string, message: string, steps: any[]) {
  return {
    apiVersion: "tekton.dev/v1",
    kind: "TaskRun",
    metadata: {
      name: `${RUN}-${pipelineTask}`,
      labels: { "tekton.dev/pipelineRun": RUN, "tekton.dev/pipelineTask": pipelineTask },
    },
    status: {
      conditions: [{ type: "Succeeded", status: "False", reason, message }],
      completionTime: "2026-12-01T12:05:00Z",
      steps,
    },
  };
}

describe("merge request status: the status Task's steps against a fake GitLab", function () {
  this.timeout(60000);
  let fake: FakeGitLab;
  let tokenDir: string;

  before(() => {
    requireTool("curl");
    requireTool("jq");
    requireTool("bash");
  });

  beforeEach(async () => {
    fake = await FakeGitLab.start(TOKEN);
    fake.addProject(PROJECT);
    fake.addCommit(PROJECT, SHA, BRANCH);
    tokenDir = tempDir("mr-status-token");
    fs.writeFileSync(path.join(tokenDir, "token"), `${TOKEN}\n`);
  });

  afterEach(async () => {
    await fake.close();
    removeTempDirs();
  });

  function build(push = false): {
    app: AppConfig;
    ctx: BuildContext;
    pipeline: Pipeline;
    task: Task;
  } {
    const { app, ctx: base } = appAndContext({
      // push: true with the example registry's username needs a Secret of its own (config).
      apps: ([a]) => [
        {
          ...a,
          mergeRequests: {
            build: true,
            push,
            ...(push ? { registrySecretName: "mr-registry" } : {}),
          },
        },
      ],
    });
    const ctx = { ...base, gitlab: { apiUrl: `${fake.url}/api/v4`, insecure: false } };
    const task = mergeRequestTasks(app, ctx).find(
      (t) => t.metadata.name === "report-merge-request-status",
    )!;
    return { app, ctx, pipeline: mergeRequestPipeline(app, ctx), task };
  }

  /**
   * Runs report-running or report-result as Tekton would: the pipeline task's params with the
   * run's values put in, then the Task's steps in order in one HOME (Tekton's /tekton/home).
   * `taskRuns`: what the stub kubectl answers; undefined: kubectl fails.
   */
  async function report(
    pipelineTask: "report-running" | "report-result",
    run: {
      push?: boolean;
      states?: Record<string, [string, string]>;
      aggregate?: string;
      taskRuns?: unknown[];
      staleDetail?: string;
      /** Run the post step alone, as if describe-failure had left `staleDetail`. */
      postOnly?: boolean;
      /** The post step's shell: busybox sh as in the curl image. */
      postShell?: string[];
    } = {},
  ): Promise<{ describe: StepRun; post: StepRun }> {
    const { pipeline, task } = build(run.push);
    const use = allTasks(pipeline).find((t) => t.name === pipelineTask)!;
    const states = run.states ?? {};
    const substitute = (value: string) =>
      value
        .replace("$(params.revision)", SHA)
        .replace("$(params.source-branch)", BRANCH)
        .replace("$(context.pipelineRun.name)", RUN)
        .replace("$(context.pipelineRun.namespace)", "python-hello-build")
        .replace("$(tasks.status)", run.aggregate ?? "Succeeded")
        .replace(/\$\(tasks\.([a-z-]+)\.(status|reason)\)/g, (_, t: string, field: string) => {
          const [status, reason] = states[t] ?? ["Succeeded", "Succeeded"];
          return field === "status" ? status : reason;
        });
    const params: Record<string, string> = Object.fromEntries(
      task.spec.params.filter((p) => p.default !== undefined).map((p) => [p.name, p.default!]),
    );
    for (const p of use.params) params[p.name] = substitute(p.value);
    const root = tempDir("mr-status");
    const home = path.join(root, "home");
    fs.mkdirSync(home);
    const bin = path.join(root, "bin");
    stub(
      bin,
      "kubectl",
      run.taskRuns === undefined
        ? "echo 'error: the server has asked for the client to provide credentials' >&2; exit 1"
        : `cat <<'JSON'\n${JSON.stringify({ kind: "TaskRunList", items: run.taskRuns })}\nJSON`,
    );
    const detailFile = path.join(home, "failure-detail");
    if (run.staleDetail !== undefined) fs.writeFileSync(detailFile, run.staleDetail);
    const inputs = {
      params,
      workspaces: { "gitlab-status-token": tokenDir },
      home,
      bin,
      // Tekton's per-pod HOME, where both steps' env points, is this test's directory.
      extraEnv: { HOME: home, FAILURE_DETAIL_FILE: detailFile },
    };
    const describe = run.postOnly
      ? { code: 0, stdout: "", stderr: "" }
      : await runScriptStep(task, "describe-failure", inputs);
    const post = await runScriptStep(task, "post-status", { ...inputs, shell: run.postShell });
    for (const output of [describe.stdout, describe.stderr, post.stdout, post.stderr]) {
      assert.ok(!output.includes(TOKEN));
    }
    return { describe, post };
  }

  const statuses = (): StoredStatus[] => fake.statusesOf(PROJECT, SHA);
  const buildFailed = {
    aggregate: "Failed",
    states: { "build-merge-request": ["Failed", "Failed"] as [string, string] },
  };

  it("posts running under tekton/<app>/merge-request on the source branch", async () => {
    const { post } = await report("report-running");
    assert.equal(post.code, 0, post.stderr);
    assert.equal(post.stderr, "");
    const [request] = fake.requestsOf("POST", "/statuses/");
    assert.deepEqual(request.body, {
      state: "running",
      ref: BRANCH,
      name: STATUS_NAME,
      description: "Building 01234567",
    });
  });

  it("success: built, not pushed, nothing deployed", async () => {
    await report("report-running");
    const { post } = await report("report-result", { taskRuns: [] });
    assert.equal(post.code, 0, post.stderr);
    assert.deepEqual(
      statuses().map((s) => [s.name, s.ref, s.status, s.description]),
      [[STATUS_NAME, BRANCH, "success", "Built, not pushed; nothing deployed (01234567)"]],
    );
  });

  it("success with push: its mr- tag pushed, nothing deployed", async () => {
    const { post } = await report("report-result", { push: true, taskRuns: [] });
    assert.equal(post.code, 0, post.stderr);
    assert.deepEqual(
      statuses().map((s) => [s.status, s.description]),
      [["success", "Built and pushed its mr- tag; nothing deployed (01234567)"]],
    );
  });

  it("failed: the description names the failed task, step and exit code", async () => {
    await report("report-running");
    const { describe, post } = await report("report-result", {
      ...buildFailed,
      taskRuns: [
        failedTaskRun("build-merge-request", "Failed", '"step-build" exited with code 1: Error', [
          {
            name: "build",
            container: "step-build",
            terminated: { exitCode: 1, reason: "Error" },
            terminationReason: "Error",
          },
        ]),
      ],
    });
    assert.equal(describe.code, 0, describe.stderr);
    assert.equal(post.code, 0, post.stderr);
    assert.deepEqual(
      statuses().map((s) => [s.status, s.description]),
      [["failed", "Failed in build-merge-request, step build: exit code 1"]],
    );
  });

  for (const [label, postShell] of [
    ["sh", undefined],
    ["busybox sh, the curl image's", ["busybox", "sh"]],
  ] as const) {
    it(`failed: a long description is cut at 255 characters, on one line (${label})`, async () => {
      const message = `admission webhook denied the request: ${"quota exceeded; ".repeat(30)}`;
      const { post } = await report("report-result", {
        ...buildFailed,
        postShell: postShell ? [...postShell] : undefined,
        taskRuns: [failedTaskRun("build-merge-request", "CreateContainerConfigError", message, [])],
      });
      assert.equal(post.code, 0, post.stderr);
      const [status] = statuses();
      const full = `Failed in build-merge-request: CreateContainerConfigError: ${message}`;
      assert.ok(full.length > 255);
      assert.equal(status.status, "failed");
      assert.equal(status.description, full.slice(0, 255));
      assert.equal(status.description!.length, 255);
    });

    // busybox `cut -c` counts bytes: a cut through a multibyte character would hand GitLab a
    // description that is not UTF-8. Only printable ASCII is kept, then cut.
    it(`failed: a description with non-ASCII text is sent as printable ASCII (${label})`, async () => {
      const message = `the registry said «${"é".repeat(200)}»`;
      const { post } = await report("report-result", {
        ...buildFailed,
        postShell: postShell ? [...postShell] : undefined,
        taskRuns: [failedTaskRun("build-merge-request", "StepFailed", message, [])],
      });
      assert.equal(post.code, 0, post.stderr);
      const [status] = statuses();
      assert.equal(
        status.description,
        "Failed in build-merge-request: StepFailed: the registry said ",
      );
    });
  }

  it("failed, the TaskRuns unreadable: the push build's words, the failed task", async () => {
    const { describe, post } = await report("report-result", {
      ...buildFailed,
      taskRuns: undefined,
      staleDetail: "Failed in fetch-merge-request, step fetch: exit code 9\n",
    });
    assert.equal(describe.code, 0);
    assert.match(describe.stderr, /could not read the TaskRuns/);
    assert.equal(post.code, 0, post.stderr);
    assert.deepEqual(
      statuses().map((s) => [s.status, s.description]),
      [["failed", "Failed in build-merge-request"]],
    );
  });

  it("canceled: a superseded run says so, whatever detail is lying around", async () => {
    const { post } = await report("report-result", {
      aggregate: "Failed",
      states: { "build-merge-request": ["Failed", "TaskRunCancelled"] },
      taskRuns: [],
      staleDetail: "Failed in build-merge-request, step build: exit code 1\n",
      postOnly: true,
    });
    assert.equal(post.code, 0, post.stderr);
    assert.deepEqual(
      statuses().map((s) => [s.status, s.description]),
      [
        [
          "canceled",
          "Cancelled during build-merge-request (a newer push, by hand, or out of time)",
        ],
      ],
    );
  });
});

describe("the push build's status script is unchanged", () => {
  const scripts = path.join(__dirname, "../../tekton/status/scripts");
  const read = (name: string) => fs.readFileSync(path.join(scripts, name), "utf8");
  const fragment = (name: string) => read(name).replace(/^(?:#.*\n)*?# shellcheck shell=sh\n/, "");
  const sourceLine = (name: string) => `. "$(dirname "$0")/${name}"\n`;

  it("without describe-result.sh: no success text, no detail file, no cut", () => {
    const post = read("post-status.sh");
    assert.equal(
      statusScript(false),
      post
        .replace(sourceLine("describe-result.sh"), "")
        .replace(sourceLine("gitlab-insecure.sh"), ""),
    );
    assert.equal(
      statusScript(true),
      post
        .replace(sourceLine("describe-result.sh"), "")
        .replace(sourceLine("gitlab-insecure.sh"), fragment("gitlab-insecure.sh")),
    );
    for (const insecure of [false, true]) {
      for (const word of ["SUCCESS_DESCRIPTION", "FAILURE_DETAIL_FILE", "DESCRIPTION_MAX_LENGTH"]) {
        assert.ok(!statusScript(insecure).includes(word), `${word} (insecure: ${insecure})`);
      }
    }
    // The merge request's variant is the same script with the fragment in its place.
    assert.equal(
      statusScript(false, true),
      post
        .replace(sourceLine("describe-result.sh"), fragment("describe-result.sh"))
        .replace(sourceLine("gitlab-insecure.sh"), ""),
    );
  });

  it("the push build's status Task: one step, the plain script, no describe env", () => {
    const { app, ctx } = appAndContext();
    const task = reportBuildStatusTask(app, ctx);
    assert.deepEqual(
      task.spec.steps.map((s) => s.name),
      ["post-status"],
    );
    const [step] = task.spec.steps;
    assert.equal(step.script, statusScript(false));
    assert.equal(step.workspaces, undefined);
    const env = (step.env ?? []).map((e) => e.name);
    for (const name of ["SUCCESS_DESCRIPTION", "FAILURE_DETAIL_FILE", "DESCRIPTION_MAX_LENGTH"]) {
      assert.ok(!env.includes(name), name);
    }
    assert.ok(!JSON.stringify(buildPipeline(app, ctx)).includes("merge-request"));
  });
});
