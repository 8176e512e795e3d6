// The build status in GitLab (issue 12): the Pipeline's status tasks, and the status script run
// for real (this machine's sh and curl, and busybox sh as in the curl image) against the fake
// GitLab on 127.0.0.1, with the params exactly as the Pipeline passes them once Tekton has
// substituted `$(params.*)`, `$(tasks.<t>.status)`, `$(tasks.<t>.reason)`, `$(tasks.status)`
// and `$(context.pipelineRun.name)`.
import { makeTestCa, removeTestCa, serverTls } from "../harness/testCa";
import { requireTool } from "../harness/tools";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildPipeline, pipelineWorkspaces } from "../../tekton/build/pipeline";
import { durationSeconds, runTimeouts } from "../../tekton/core/timeouts";
import { reportBuildStatusTask, STATUS_RETRY } from "../../tekton/status/statusTasks";
import { BuildContext } from "../../tekton/build/context";
import { buildTasks } from "../../tekton/build/tasks";
import { pipelineRunTemplate } from "../../tekton/listener/triggers";
import { AppConfig } from "../../config/schema";
import { FakeGitLab, StoredStatus } from "../gitlab/fakeGitLab";
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
const RUN_NAME = "build-hello-python-x7k2p";
const TOKEN = "glpat-status-TOKEN-4f9a1c2e7b";
const BUILD_TASKS = ["generate-image-tag", "build-and-push", "patch-deployment"];

describe("build status in GitLab: the Pipeline", () => {
  const { app, ctx } = appAndContext();
  const pipeline = buildPipeline(app, ctx);
  const p1h = () => buildPipeline(app, ctx);

  it("reports running beside the first task: report-running has no runAfter and nothing waits for it", () => {
    const running = pipeline.spec.tasks.find((t) => t.name === "report-running")!;
    assert.equal(running.runAfter, undefined);
    assert.equal(running.taskRef.name, "report-build-status");
    for (const task of pipeline.spec.tasks) {
      assert.ok(!(task.runAfter ?? []).includes("report-running"), task.name);
      for (const p of task.params) assert.ok(!p.value.includes("report-running"), task.name);
    }
    assert.equal(running.onError, "continue");
    assert.equal(running.timeout, "2m");
  });

  it("reports the result from a finally task reading each build task's status and reason", () => {
    // cancel-superseded (on by default) is in the DAG but not a build task: a cancel pod that
    // cannot start must not turn a good build red, so its status is not read.
    assert.ok(pipeline.spec.tasks.some((t) => t.name === "cancel-superseded"));
    assert.deepEqual(
      (pipeline.spec.finally ?? []).map((t) => t.name),
      ["report-result"],
    );
    const result = pipeline.spec.finally![0];
    assert.equal(result.runAfter, undefined);
    assert.equal(result.onError, "continue");
    const params = Object.fromEntries(result.params.map((p) => [p.name, p.value]));
    assert.deepEqual(params, {
      "gitlab-api-url": "https://gitlab.apps.192-168-2-114.nip.io/api/v4",
      "gitlab-project": "root%2Fhello-python",
      revision: "$(params.revision)",
      ref: "$(params.source-branch)",
      "status-name": "tekton/hello-python",
      "target-url": "",
      report: "result",
      "task-states": BUILD_TASKS.map((t) => `${t} $(tasks.${t}.status) $(tasks.${t}.reason)`).join(
        "\n",
      ),
      "aggregate-status": "$(tasks.status)",
    });
  });

  it("binds the token workspace to the status tasks and to nothing else", () => {
    for (const task of allTasks(pipeline)) {
      const bound = task.workspaces.map((w) => w.workspace);
      assert.equal(
        bound.includes("gitlab-status-token"),
        task.taskRef.name === "report-build-status",
        task.name,
      );
    }
    const statusTask = buildTasks(app, ctx).find((t) => t.metadata.name === "report-build-status")!;
    assert.deepEqual(
      statusTask.spec.workspaces.map((w) => [w.name, w.readOnly]),
      [["gitlab-status-token", true]],
    );
  });

  it("links the status to the run's page on the dashboard when its URL is known", () => {
    const withDashboard = buildPipeline(app, {
      ...ctx,
      dashboardUrl: "https://tekton.example.com/",
    });
    const running = withDashboard.spec.tasks.find((t) => t.name === "report-running")!;
    assert.equal(
      running.params.find((p) => p.name === "target-url")?.value,
      "https://tekton.example.com/#/namespaces/python-hello-build/pipelineruns/$(context.pipelineRun.name)",
    );
  });

  // gitlabhq app/models/generic_commit_status.rb: `validates :target_url, addressable_url:
  // true, length: { maximum: 255 }`; a longer one makes GitLab refuse the whole status (400).
  it("leaves the link out when the run's longest dashboard URL could exceed GitLab's 255 characters", () => {
    const link = (dashboardUrl: string) =>
      buildPipeline(app, { ...ctx, dashboardUrl })
        .spec.tasks.find((t) => t.name === "report-running")!
        .params.find((p) => p.name === "target-url")!.value;
    // The run's name: generateName `build-<app>-` plus 5 characters (at most 63).
    const runName = `build-${app.name}-abcde`;
    const fixed = `/#/namespaces/${app.namespace}/pipelineruns/${runName}`.length;
    const fits = `https://${"a".repeat(255 - fixed - "https://".length - ".io".length)}.io`;
    assert.equal(fits.length + fixed, 255);
    assert.ok(link(fits).startsWith(`${fits}/#/namespaces/`));
    const tooLong = `https://${"a".repeat(255 - fixed - "https://".length - ".io".length + 1)}.io`;
    assert.equal(link(tooLong), "");
  });

  it("mounts GitLab's CA (gitlab:cacertFile) into the status tasks only", () => {
    const withCa: BuildContext = {
      ...ctx,
      gitlab: {
        ...ctx.gitlab!,
        caCert: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
      },
    };
    const ca = buildPipeline(app, withCa);
    for (const task of allTasks(ca)) {
      assert.equal(
        task.workspaces.some((w) => w.workspace === "gitlab-ca"),
        task.taskRef.name === "report-build-status",
        task.name,
      );
    }
    const run = pipelineRunTemplate(app, withCa);
    assert.deepEqual(
      run.spec.workspaces.find((w) => w.name === "gitlab-ca"),
      { name: "gitlab-ca", configMap: { name: "gitlab-ca" } },
    );
    const step = reportBuildStatusTask(app, withCa).spec.steps[0];
    assert.equal(
      step.env!.find((e) => e.name === "CA_FILE")?.value,
      "$(workspaces.gitlab-ca.path)/ca.crt",
    );
  });

  it("keeps a finally share of the run's timeout, so a run out of time still reports", () => {
    assert.deepEqual(runTimeouts(app), { pipeline: "1h", tasks: "3420s", finally: "180s" });
    const short = { ...app, pipelineRun: { ...app.pipelineRun, timeout: "4m" } } as AppConfig;
    assert.deepEqual(runTimeouts(short), { pipeline: "4m", tasks: "180s", finally: "60s" });
    const tiny = { ...app, pipelineRun: { ...app.pipelineRun, timeout: "30s" } } as AppConfig;
    assert.deepEqual(runTimeouts(tiny), { pipeline: "30s" });
  });

  // pipeline v1.15.0 pkg/reconciler/pipelinerun/resources/pipelinerunstate.go
  // `getPipelineTasksCount`: a TaskRun the run's tasks/finally timeout cancelled
  // (`isCancelledForTimeOut`) counts as Failed even with `onError: continue`; only a TaskRun
  // that failed or hit its own timeout (TaskRunTimeout) is "Ignored". So each status task's own
  // timeout must end it before the run's share would: a slow GitLab must not fail the run.
  it("ends each status task on its own timeout before the run's tasks or finally share could cancel it", () => {
    for (const timeout of ["1m", "90s", "2m", "4m", "5m", "7m", "8m", "12m", "1h", "3h"]) {
      const short = { ...app, pipelineRun: { ...app.pipelineRun, timeout } } as AppConfig;
      const timeouts = runTimeouts(short) as { tasks: string; finally: string };
      const p = buildPipeline(short, ctx);
      const running = p.spec.tasks.find((t) => t.name === "report-running")!;
      const result = p.spec.finally![0];
      for (const [task, share] of [
        [running, timeouts.tasks],
        [result, timeouts.finally],
      ] as const) {
        const own = durationSeconds(task.timeout!);
        assert.ok(own >= 1, `${timeout}: ${task.name} timeout ${task.timeout}`);
        assert.ok(own <= 120, `${timeout}: ${task.name} timeout ${task.timeout}`);
        // A margin: the TaskRun starts a moment after the run's share began counting.
        assert.ok(
          own <= durationSeconds(share) * 0.75,
          `${timeout}: ${task.name} timeout ${task.timeout} vs the run's ${share}`,
        );
      }
    }
    // The usual case keeps the 2 minutes.
    assert.equal(p1h().spec.finally![0].timeout, "2m");
  });

  it("statusReporting: false: no status Task, no finally, no token workspace, one timeout", () => {
    const off = appAndContext({ apps: ([a]) => [{ ...a, statusReporting: false }] });
    const plain = buildPipeline(off.app, off.ctx);
    assert.deepEqual(
      plain.spec.tasks.map((t) => t.name),
      [...BUILD_TASKS, "cancel-superseded"],
    );
    assert.equal(plain.spec.finally, undefined);
    assert.ok(!pipelineWorkspaces(off.ctx, off.app).includes("gitlab-status-token"));
    assert.ok(!buildTasks(off.app, off.ctx).some((t) => t.metadata.name === "report-build-status"));
    const run = pipelineRunTemplate(off.app, off.ctx);
    assert.ok(!run.spec.workspaces.some((w) => w.name === "gitlab-status-token"));
    assert.deepEqual(run.spec.timeouts, { pipeline: "1h" });
  });
});

describe("build status in GitLab: the status script against a fake GitLab", function () {
  this.timeout(60000);
  let fake: FakeGitLab;
  let app: AppConfig;
  let ctx: BuildContext;
  let bin: string;
  let tokenDir: string;

  const shells: [string, string[] | undefined][] = [
    ["sh", undefined],
    ["busybox sh (the curl image's shell)", ["busybox", "sh"]],
  ];

  before(() => {
    requireTool("curl");
    requireTool("busybox");
  });

  beforeEach(async () => {
    fake = await FakeGitLab.start(TOKEN);
    // The app's project as seen by a token without the role to post (403), and root/other,
    // where the statuses of most tests go.
    fake.addProject(PROJECT, { maintainer: false });
    fake.addProject("root/other");
    ({ app, ctx } = appAndContext());
    app = { ...app, sourceProject: "root/other" };
    fake.addCommit("root/other", SHA, "main");
    ctx = { ...ctx, gitlab: { apiUrl: `${fake.url}/api/v4`, insecure: false } };
    bin = tempDir("status-bin");
    // sleep records its argument instead of waiting; curl records its argv, then runs.
    const realCurl = requireTool("curl");
    stub(bin, "sleep", `echo "$1" >> "${bin}/sleeps"`);
    stub(bin, "curl", `printf '%s\\n' "$@" >> "${bin}/curl-argv"\nexec ${realCurl} "$@"`);
    tokenDir = tempDir("status-token");
    fs.writeFileSync(path.join(tokenDir, "token"), `${TOKEN}\n`);
  });

  afterEach(async () => {
    await fake.close();
    removeTempDirs();
  });

  const sleeps = () =>
    fs.existsSync(path.join(bin, "sleeps"))
      ? fs.readFileSync(path.join(bin, "sleeps"), "utf8").split("\n").filter(Boolean)
      : [];

  /**
   * Runs `report-running` or `report-result` as Tekton would: the pipeline task's params with
   * the run's values substituted, then the Task's step with those params.
   */
  async function report(
    pipelineTask: "report-running" | "report-result",
    run: { states?: Record<string, [string, string]>; aggregate?: string; shell?: string[] } = {},
    context: BuildContext = ctx,
  ): Promise<StepRun> {
    const pipeline = buildPipeline(app, context);
    const task = reportBuildStatusTask(app, context);
    const use = allTasks(pipeline).find((t) => t.name === pipelineTask)!;
    const states = run.states ?? {};
    const substitute = (value: string) =>
      value
        .replace("$(params.revision)", SHA)
        .replace("$(params.source-branch)", app.branch)
        .replace("$(context.pipelineRun.name)", RUN_NAME)
        .replace("$(tasks.status)", run.aggregate ?? "Succeeded")
        .replace(/\$\(tasks\.([a-z-]+)\.(status|reason)\)/g, (_, t: string, field: string) => {
          const [status, reason] = states[t] ?? ["Succeeded", "Succeeded"];
          return field === "status" ? status : reason;
        });
    const params: Record<string, string> = Object.fromEntries(
      task.spec.params.filter((p) => p.default !== undefined).map((p) => [p.name, p.default!]),
    );
    for (const p of use.params) params[p.name] = substitute(p.value);
    const workspaces: Record<string, string> = { "gitlab-status-token": tokenDir };
    if (context.gitlab?.caCert !== undefined) {
      const caDir = tempDir("status-ca");
      fs.writeFileSync(path.join(caDir, "ca.crt"), context.gitlab.caCert);
      workspaces["gitlab-ca"] = caDir;
    }
    const result = await runScriptStep(task, "post-status", {
      params,
      workspaces,
      home: tempDir("status-home"),
      bin,
      shell: run.shell,
    });
    // Never the token, in any output or in curl's argv.
    assert.ok(!result.stdout.includes(TOKEN), result.stdout);
    assert.ok(!result.stderr.includes(TOKEN), result.stderr);
    const argv = path.join(bin, "curl-argv");
    if (fs.existsSync(argv)) assert.ok(!fs.readFileSync(argv, "utf8").includes(TOKEN));
    return result;
  }

  const posts = () => fake.requestsOf("POST", "/statuses/");
  const statuses = (): StoredStatus[] => fake.statusesOf("root/other", SHA);
  const states = (failing: Record<string, [string, string]>) => {
    const all: Record<string, [string, string]> = {};
    for (const t of BUILD_TASKS) all[t] = ["Succeeded", "Succeeded"];
    return { ...all, ...failing };
  };

  for (const [label, shell] of shells) {
    it(`posts running with the token in a header, the branch as ref and the app's name (${label})`, async () => {
      const result = await report("report-running", { shell });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.match(result.stdout, /GitLab shows tekton\/hello-python: running on 01234567/);
      assert.equal(posts().length, 1);
      const request = posts()[0];
      assert.equal(request.rawPath, `/api/v4/projects/root%2Fother/statuses/${SHA}`);
      assert.equal(request.headers["private-token"], TOKEN);
      assert.deepEqual(request.body, {
        state: "running",
        ref: "main",
        name: "tekton/hello-python",
        description: "Building 01234567",
      });
      assert.deepEqual(
        statuses().map((s) => [s.name, s.ref, s.status]),
        [["tekton/hello-python", "main", "running"]],
      );
    });

    it(`moves the running status to success when every build task succeeded (${label})`, async () => {
      await report("report-running", { shell });
      const result = await report("report-result", { aggregate: "Succeeded", shell });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      // The same status moved on: GitLab shows one job, now passed.
      assert.deepEqual(
        statuses().map((s) => [s.id, s.status, s.description]),
        [[1, "success", "Built 01234567, pushed the image and updated the deployment"]],
      );
    });
  }

  const outcomes: {
    label: string;
    aggregate: string;
    failing: Record<string, [string, string]>;
    state: StoredStatus["status"];
    description: string;
  }[] = [
    {
      label: "Failed: a task failed",
      aggregate: "Failed",
      failing: { "build-and-push": ["Failed", "Failed"], "patch-deployment": ["None", ""] },
      state: "failed",
      description: "Failed in build-and-push",
    },
    {
      label: "Failed: a task's pod could not start",
      aggregate: "Failed",
      failing: {
        "generate-image-tag": ["Failed", "TaskRunImagePullFailed"],
        "build-and-push": ["None", ""],
        "patch-deployment": ["None", ""],
      },
      state: "failed",
      description: "Failed in generate-image-tag (TaskRunImagePullFailed)",
    },
    {
      label: "Failed with a cancelled TaskRun (CancelledRunFinally, a superseded run)",
      aggregate: "Failed",
      failing: {
        "build-and-push": ["Failed", "TaskRunCancelled"],
        "patch-deployment": ["None", ""],
      },
      state: "canceled",
      description: "Cancelled during build-and-push (a newer push, by hand, or out of time)",
    },
    {
      label: "Failed: a task's own timeout (TaskRunTimeout)",
      aggregate: "Failed",
      failing: { "patch-deployment": ["Failed", "TaskRunTimeout"] },
      state: "failed",
      description: "patch-deployment timed out",
    },
    {
      label: "Completed: cancelled before the first task ran (every task skipped)",
      aggregate: "Completed",
      failing: {
        "generate-image-tag": ["None", ""],
        "build-and-push": ["None", ""],
        "patch-deployment": ["None", ""],
      },
      state: "canceled",
      description: "Stopped before generate-image-tag ran (cancelled or out of time)",
    },
    {
      label: "None: the DAG did not finish",
      aggregate: "None",
      failing: { "patch-deployment": ["None", ""] },
      state: "canceled",
      description: "Stopped before patch-deployment ran (cancelled or out of time)",
    },
    {
      // report-running's own failure (onError: continue) makes $(tasks.status) Failed.
      label: "Failed only because report-running failed: the build succeeded",
      aggregate: "Failed",
      failing: {},
      state: "success",
      description: "Built 01234567, pushed the image and updated the deployment",
    },
  ];

  for (const outcome of outcomes) {
    it(`${outcome.label} -> ${outcome.state}`, async () => {
      await report("report-running");
      const result = await report("report-result", {
        aggregate: outcome.aggregate,
        states: states(outcome.failing),
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.deepEqual(
        statuses().map((s) => [s.status, s.description]),
        [[outcome.state, outcome.description]],
      );
      assert.equal(posts().at(-1)!.body.state, outcome.state);
    });
  }

  it("treats GitLab's refusal to post running twice as done (a retry after a lost answer)", async () => {
    await report("report-running");
    const again = await report("report-running");
    assert.equal(again.code, 0);
    assert.equal(again.stderr, "");
    assert.match(again.stdout, /GitLab already shows tekton\/hello-python: running/);
    assert.match(again.stdout, /Cannot transition status via :run from :running/);
    assert.equal(posts()[1].status, 400);
    assert.deepEqual(sleeps(), []);
  });

  it("retries a 5xx twice, then warns and exits 0: the build goes on", async () => {
    fake.inject({
      method: "POST",
      pathIncludes: "/statuses/",
      status: 502,
      body: "bad gateway",
      times: 3,
    });
    const result = await report("report-running");
    assert.equal(result.code, 0);
    assert.equal(posts().length, STATUS_RETRY.attempts);
    assert.deepEqual(sleeps(), ["1", "2"]);
    assert.match(
      result.stderr,
      /warning: posting running for 01234567 failed after 3 attempt\(s\): GitLab answered HTTP 502/,
    );
    assert.match(result.stderr, /the build goes on without this status in GitLab/);
    assert.deepEqual(statuses(), []);
  });

  it("succeeds on a retry after one 503", async () => {
    fake.inject({
      method: "POST",
      pathIncludes: "/statuses/",
      status: 503,
      body: { message: "503" },
    });
    const result = await report("report-running");
    assert.equal(result.code, 0);
    assert.equal(posts().length, 2);
    assert.deepEqual(sleeps(), ["1"]);
    assert.deepEqual(
      statuses().map((s) => s.status),
      ["running"],
    );
  });

  // gitlabhq app/services/ci/create_commit_status_service.rb `execute`: a per-commit lock,
  // FailedToObtainLockError -> `reason: :conflict`, which lib/api/commit_statuses.rb answers
  // with `conflict!` (409); GitLab's own comment there: a 409 "can result in a job stuck in
  // running or pending". app/services/ci/pipelines/add_job_service.rb `execute!` turns a lost
  // pipeline lock (any StandardError) into a 400 "Failed to obtain a lock". Both are
  // transient: another status of the same commit (another app of the same source project,
  // or this run's report-running) was being written at the same time.
  for (const [code, body] of [
    [409, { message: "Another update to this commit status is in progress" }],
    [400, { message: "Failed to obtain a lock" }],
  ] as const) {
    it(`retries GitLab's ${code} "${body.message}" (a concurrent status update), so the result still lands`, async () => {
      await report("report-running");
      fake.inject({ method: "POST", pathIncludes: "/statuses/", status: code, body });
      const result = await report("report-result", { states: states({}) });
      assert.equal(result.code, 0);
      assert.equal(posts().length, 3);
      assert.deepEqual(sleeps(), ["1"]);
      assert.deepEqual(
        statuses().map((s) => s.status),
        ["success"],
      );
    });
  }

  it("a refused connection: retried, then a warning and exit 0", async () => {
    const closed = await FakeGitLab.start(TOKEN);
    const url = closed.url;
    await closed.close();
    const result = await report(
      "report-result",
      {},
      {
        ...ctx,
        gitlab: { apiUrl: `${url}/api/v4`, insecure: false },
      },
    );
    assert.equal(result.code, 0);
    assert.deepEqual(sleeps(), ["1", "2"]);
    assert.match(
      result.stderr,
      /warning: posting success for 01234567 failed after 3 attempt\(s\): no answer from http:\/\/127\.0\.0\.1:\d+\/api\/v4 \(curl exit 7/,
    );
  });

  it("a 400 is not retried: one request, a warning with GitLab's message, exit 0", async () => {
    fake.inject({
      method: "POST",
      pathIncludes: "/statuses/",
      status: 400,
      body: { message: { name: ["is too long (maximum is 255 characters)"] } },
    });
    const result = await report("report-running");
    assert.equal(result.code, 0);
    assert.equal(posts().length, 1);
    assert.deepEqual(sleeps(), []);
    assert.match(result.stderr, /GitLab answered HTTP 400: \{"message":\{"name":\["is too long/);
  });

  it("a wrong token (401): one request, a warning naming the token, never the token itself", async () => {
    fs.writeFileSync(path.join(tokenDir, "token"), "glpat-revoked-0000000000\n");
    const result = await report("report-running");
    assert.equal(result.code, 0);
    assert.equal(posts().length, 1);
    assert.match(
      result.stderr,
      /HTTP 401: \{"message":"401 Unauthorized"\} \(the token is wrong, expired or revoked\)/,
    );
    assert.ok(!result.stderr.includes("glpat-revoked"));
  });

  it("a role below Developer (403) and an unknown commit (404) are warnings", async () => {
    app = { ...app, sourceProject: PROJECT };
    fake.addCommit(PROJECT, SHA);
    const forbidden = await report("report-running");
    assert.equal(forbidden.code, 0);
    assert.match(forbidden.stderr, /HTTP 403: .*needs at least the Developer role/);
    fake.addProject("root/empty");
    app = { ...app, sourceProject: "root/empty" };
    const missing = await report("report-result");
    assert.equal(missing.code, 0);
    assert.match(
      missing.stderr,
      /HTTP 404: \{"message":"404 Commit Not Found"\} \(project root%2Fempty or commit 0123/,
    );
    assert.equal(posts().length, 2);
    assert.deepEqual(sleeps(), []);
  });

  it("a protected branch the token may neither push nor merge to (403): the warning says what to change", async () => {
    // GitLab's default protection of the default branch lets only Maintainers push and merge;
    // a Developer token then may not update that branch's pipeline, so every status is 403.
    fake.protectBranch("root/other", app.branch);
    const result = await report("report-running");
    assert.equal(result.code, 0);
    assert.equal(posts().length, 1);
    assert.equal(posts()[0].status, 403);
    assert.match(result.stderr, /HTTP 403/);
    assert.match(
      result.stderr,
      new RegExp(`branch ${app.branch} is protected.*allowed to merge.*Developers`),
    );
  });

  it("an empty or missing token Secret is a warning, and nothing is sent", async () => {
    fs.writeFileSync(path.join(tokenDir, "token"), "");
    const result = await report("report-running");
    assert.equal(result.code, 0);
    assert.match(result.stderr, /no token at .*\/token/);
    // No Secret at all: the optional workspace mounts empty.
    fs.rmSync(path.join(tokenDir, "token"));
    const missing = await report("report-result");
    assert.equal(missing.code, 0);
    assert.match(
      missing.stderr,
      /no token at .*\/token: the Secret bound to workspace gitlab-status-token needs key token/,
    );
    assert.equal(posts().length, 0);
  });

  it("links the status to the dashboard page of the run", async () => {
    const result = await report(
      "report-running",
      {},
      {
        ...ctx,
        dashboardUrl: "https://tekton.example.com",
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      posts()[0].body.target_url,
      `https://tekton.example.com/#/namespaces/python-hello-build/pipelineruns/${RUN_NAME}`,
    );
    assert.equal(
      statuses()[0].target_url,
      `https://tekton.example.com/#/namespaces/python-hello-build/pipelineruns/${RUN_NAME}`,
    );
  });
});

describe("build status in GitLab: GitLab behind a private CA", function () {
  this.timeout(60000);
  let dir: string;
  let fake: FakeGitLab;
  let app: AppConfig;
  let ctx: BuildContext;

  before(() => {
    requireTool("curl");
    dir = makeTestCa("status-ca-");
  });

  after(() => removeTestCa(dir));

  beforeEach(async () => {
    fake = await FakeGitLab.start(TOKEN, { tls: serverTls(dir) });
    fake.addProject(PROJECT);
    fake.addCommit(PROJECT, SHA);
    ({ app, ctx } = appAndContext());
  });

  afterEach(async () => {
    await fake.close();
    removeTempDirs();
  });

  async function post(gitlab: BuildContext["gitlab"]): Promise<StepRun> {
    const context = { ...ctx, gitlab };
    const task = reportBuildStatusTask(app, context);
    const tokenDir = tempDir("status-token");
    fs.writeFileSync(path.join(tokenDir, "token"), TOKEN);
    const workspaces: Record<string, string> = { "gitlab-status-token": tokenDir };
    if (gitlab?.caCert) {
      const caDir = tempDir("status-ca");
      fs.writeFileSync(path.join(caDir, "ca.crt"), gitlab.caCert);
      workspaces["gitlab-ca"] = caDir;
    }
    const bin = tempDir("status-bin");
    stub(bin, "sleep", "true");
    return runScriptStep(task, "post-status", {
      params: {
        "gitlab-api-url": gitlab!.apiUrl,
        "gitlab-project": encodeURIComponent(PROJECT),
        revision: SHA,
        ref: "main",
        "status-name": "tekton/hello-python",
        "target-url": "",
        report: "running",
        "task-states": "",
        "aggregate-status": "",
      },
      workspaces,
      home: tempDir("status-home"),
      bin,
    });
  }

  it("trusts gitlab:cacertFile's CA, mounted from ConfigMap gitlab-ca", async () => {
    const caCert = fs.readFileSync(path.join(dir, "ca.pem"), "utf8");
    const result = await post({ apiUrl: `${fake.url}/api/v4`, insecure: false, caCert });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.equal(fake.statusesOf(PROJECT, SHA)[0].status, "running");
  });

  it("without the CA: a certificate warning, not retried, exit 0", async () => {
    const result = await post({ apiUrl: `${fake.url}/api/v4`, insecure: false });
    assert.equal(result.code, 0);
    assert.match(result.stderr, /failed after 1 attempt\(s\): no answer from https:.*curl exit 60/);
    assert.equal(fake.statusesOf(PROJECT, SHA).length, 0);
  });

  it("gitlab:insecure: true skips verification", async () => {
    const result = await post({ apiUrl: `${fake.url}/api/v4`, insecure: true });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(fake.statusesOf(PROJECT, SHA)[0].status, "running");
  });
});
