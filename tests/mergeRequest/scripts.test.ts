// The merge request build's own step scripts run for real (tekton/mergeRequest/scripts):
// fetch-merge-request.sh with this machine's git against a local bare repository holding
// GitLab's refs/merge-requests/<iid>/head, and describe-failure.sh with bash and jq against a
// stub kubectl that answers with TaskRuns shaped as Tekton Pipelines v1.15.0 writes them.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { mergeRequestTasks } from "../../tekton/mergeRequest/pipeline";
import { requireTool } from "../harness/tools";
import { git, SourceRepo, sourceRepo } from "../build/gitRepos";
import {
  appAndContext,
  envOf,
  removeTempDirs,
  runScriptStep,
  stepNamed,
  stub,
  tempDir,
} from "../build/helpers";

const { app, ctx } = appAndContext({
  apps: ([a]) => [{ ...a, mergeRequests: { build: true } }],
});
const [FETCH_TASK, , STATUS_TASK] = mergeRequestTasks(app, ctx);
const RUN = "build-hello-python-merge-request-x7k2p";

describe("merge request step scripts", function () {
  this.timeout(30000);
  after(function () {
    this.timeout(180_000);
    removeTempDirs();
  });

  describe("fetch-merge-request.sh against a real repository", () => {
    before(() => requireTool("git"));

    /**
     * A project with main (a, b) and merge request !7 whose head is d on top of c on top of b,
     * as GitLab keeps it: refs/merge-requests/7/head in the project's own repository. Branch
     * other holds e, on no merge request.
     */
    function project(objectFormat: "sha1" | "sha256" = "sha1") {
      const repo = sourceRepo(objectFormat);
      /** Pushes the work clone's HEAD to `ref` of the project; main stays at `b`. */
      const pushTo = (ref: string, sha: string) => {
        repo.push(true);
        git(repo.remote, "update-ref", ref, sha);
      };
      const a = repo.commit("a", "2026-12-01T09:00:00Z");
      const b = repo.commit("b", "2026-12-01T10:00:00Z");
      repo.push();
      const c = repo.commit("c", "2026-12-01T11:00:00Z");
      const d = repo.commit("d", "2026-12-01T12:00:00Z");
      pushTo("refs/merge-requests/7/head", d);
      repo.resetTo(b);
      const e = repo.commit("e", "2026-12-01T13:00:00Z");
      pushTo("refs/heads/other", e);
      git(repo.remote, "update-ref", "refs/heads/main", b);
      return { repo, pushTo, a, b, c, d, e };
    }

    /** One project for the tests that must stop before git runs. */
    let shared: ReturnType<typeof project> | undefined;
    const sharedProject = () => (shared ??= project());

    async function fetchRun(
      repo: SourceRepo,
      revision: string,
      iid: string,
      extra: { push?: string; shell?: string[] } = {},
    ) {
      const root = tempDir("mr-fetch");
      const home = path.join(root, "home");
      const gitPull = path.join(root, "git-pull");
      const results = path.join(root, "results");
      const source = path.join(root, "source");
      for (const dir of [home, gitPull, results, source]) fs.mkdirSync(dir);
      // Secret git-pull as the task's workspace; the repository is a local path, so no ssh.
      fs.writeFileSync(path.join(gitPull, "ssh-privatekey"), "not a real pull key\n");
      fs.writeFileSync(path.join(gitPull, "known_hosts"), "gitlab ssh-ed25519 AAAA\n");
      const run = await runScriptStep(FETCH_TASK, "fetch", {
        params: {
          "source-url": repo.remote,
          revision,
          "merge-request-iid": iid,
          "registry-host": "registry.example.com:5000",
          "image-repository": "team/service",
          push: extra.push ?? "false",
        },
        workspaces: { source, "git-pull-ssh": gitPull },
        results,
        home,
        shell: extra.shell,
      });
      const result = (name: string) =>
        fs.existsSync(path.join(results, name))
          ? fs.readFileSync(path.join(results, name), "utf8")
          : undefined;
      const checkout = path.join(source, "src");
      return {
        ...run,
        checkout,
        imageUrl: result("image-url"),
        commit: result("commit-sha"),
        head: () => git(checkout, "rev-parse", "HEAD"),
      };
    }

    for (const [label, shell] of [
      ["sh", undefined],
      ["busybox sh (the git image's shell)", ["busybox", "sh"]],
    ] as const) {
      it(`builds the merge request's head from refs/merge-requests/<iid>/head, image mr-<iid>-<12 hex> (${label})`, async () => {
        if (shell) requireTool("busybox");
        const { repo, d } = project();
        const run = await fetchRun(repo, d, "7", { shell: shell ? [...shell] : undefined });
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.head(), d);
        assert.equal(run.commit, d);
        assert.equal(run.imageUrl, `registry.example.com:5000/team/service:mr-7-${d.slice(0, 12)}`);
        assert.match(
          run.stdout,
          new RegExp(`merge request !7: commit ${d} will be built, not pushed`),
        );
      });
    }

    it("builds an ancestor of the head (an older event of the same merge request)", async () => {
      const { repo, c, b } = project();
      for (const revision of [c, b]) {
        const run = await fetchRun(repo, revision, "7", { push: "true" });
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.head(), revision);
        assert.equal(
          run.imageUrl,
          `registry.example.com:5000/team/service:mr-7-${revision.slice(0, 12)}`,
        );
        assert.match(
          run.stdout,
          /will be pushed as registry\.example\.com:5000\/team\/service:mr-7-/,
        );
      }
    });

    it("refuses a commit the merge request's ref does not lead to, naming the ref", async () => {
      const { repo, d, e } = project();
      const run = await fetchRun(repo, e, "7");
      assert.notEqual(run.code, 0);
      assert.match(
        run.stderr,
        new RegExp(
          `commit ${e} is not reachable from refs/merge-requests/7/head \\(now at ${d}\\)`,
        ),
      );
      assert.equal(run.imageUrl, undefined);
      assert.equal(run.commit, undefined);
    });

    it("refuses a commit that only the merge request's ref once led to (a force-push since)", async () => {
      const { repo, pushTo, b, c, d } = project();
      // The merge request is rewritten: its head is now a new commit on top of main's b.
      repo.resetTo(b);
      const rewritten = repo.commit("rewritten", "2026-12-01T14:00:00Z");
      pushTo("refs/merge-requests/7/head", rewritten);
      for (const revision of [c, d]) {
        const run = await fetchRun(repo, revision, "7");
        assert.notEqual(run.code, 0);
        assert.match(
          run.stderr,
          new RegExp(`commit ${revision} is not reachable from refs/merge-requests/7/head`),
        );
      }
    });

    it("fails clearly when the merge request's ref does not exist", async () => {
      const { repo, d } = sharedProject();
      const run = await fetchRun(repo, d, "8");
      assert.notEqual(run.code, 0);
      assert.match(
        run.stderr,
        /fetching refs\/merge-requests\/8\/head from .* failed; git said why above \(is merge request !8 in this project\?\)/,
      );
      assert.equal(run.imageUrl, undefined);
    });

    it("fetches from a SHA-256 repository", async () => {
      const { repo, d } = project("sha256");
      assert.equal(d.length, 64);
      const run = await fetchRun(repo, d, "7");
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.head(), d);
      assert.equal(run.imageUrl, `registry.example.com:5000/team/service:mr-7-${d.slice(0, 12)}`);
    });

    const badIids = ["", "0", "07", "1a", "-1", "1 2", "1/head:refs/heads/x", "${IFS}"];
    for (const iid of badIids) {
      it(`refuses merge-request-iid '${iid}' before running git`, async () => {
        const { repo, d } = sharedProject();
        const run = await fetchRun(repo, d, iid);
        assert.notEqual(run.code, 0);
        assert.match(run.stderr, /merge-request-iid must be a merge request number, got: '/);
        assert.ok(!fs.existsSync(run.checkout), "a checkout was made");
      });
    }

    it("refuses a revision that is not a full commit id, before running git", async () => {
      const { repo, d } = sharedProject();
      for (const revision of [
        "",
        "main",
        d.slice(0, 12),
        `${d}0`,
        "--upload-pack=touch /tmp/x",
        d.toUpperCase(),
      ]) {
        const run = await fetchRun(repo, revision, "7");
        assert.notEqual(run.code, 0, revision);
        assert.match(run.stderr, /revision must be a full/, revision);
        assert.ok(!fs.existsSync(run.checkout), revision);
      }
    });

    it("refuses a push flag other than true or false", async () => {
      const { repo, d } = sharedProject();
      const run = await fetchRun(repo, d, "7", { push: "yes" });
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /push must be true or false, got: 'yes'/);
    });
  });

  describe("describe-failure.sh with a stub kubectl", () => {
    before(() => {
      requireTool("bash");
      requireTool("jq");
    });

    /**
     * A TaskRun of this run as Tekton Pipelines v1.15.0 writes it: labels tekton.dev/pipelineRun
     * and tekton.dev/pipelineTask (pkg/apis/pipeline/register.go), `status.conditions` with the
     * Succeeded condition (pkg/apis/pipeline/v1/taskrun_types.go TaskRunReason*),
     * `status.steps[]` StepState (name, container, the container's `terminated` exitCode and
     * reason, and terminationReason, pkg/pod/status.go `getTerminationReason`) and
     * `completionTime`. Messages as pkg/pod/status.go `extractContainerFailureMessage` words them.
     */
    function taskRun(
      pipelineTask: string,
      condition: { status: string; reason: string; message?: string },
      steps: {
        name: string;
        exitCode?: number;
        reason?: string;
        terminationReason?: string;
        running?: boolean;
      }[],
      completed = "2026-12-01T12:05:00Z",
    ) {
      return {
        apiVersion: "tekton.dev/v1",
        kind: "TaskRun",
        metadata: {
          name: `${RUN}-${pipelineTask}`,
          namespace: app.namespace,
          labels: {
            "app.kubernetes.io/managed-by": "tekton-pipelines",
            "tekton.dev/pipeline": "build-hello-python-merge-request",
            "tekton.dev/pipelineRun": RUN,
            "tekton.dev/pipelineTask": pipelineTask,
            "tekton.dev/task": pipelineTask,
          },
        },
        spec: { taskRef: { kind: "Task", name: pipelineTask }, serviceAccountName: "tekton-build" },
        status: {
          conditions: [
            {
              type: "Succeeded",
              status: condition.status,
              reason: condition.reason,
              message: condition.message ?? "",
              lastTransitionTime: completed,
            },
          ],
          podName: `${RUN}-${pipelineTask}-pod`,
          startTime: "2026-12-01T12:00:00Z",
          completionTime: completed,
          steps: steps.map((step) => ({
            name: step.name,
            container: `step-${step.name}`,
            imageID: "docker.io/library/example@sha256:" + "0".repeat(64),
            ...(step.running
              ? { running: { startedAt: "2026-12-01T12:00:01Z" } }
              : {
                  terminated: {
                    exitCode: step.exitCode ?? 0,
                    reason: step.reason ?? (step.exitCode ? "Error" : "Completed"),
                    startedAt: "2026-12-01T12:00:01Z",
                    finishedAt: completed,
                    containerID: "containerd://" + "1".repeat(64),
                  },
                  terminationReason:
                    step.terminationReason ??
                    step.reason ??
                    (step.exitCode ? "Error" : "Completed"),
                }),
          })),
        },
      };
    }
    const succeededFetch = taskRun("fetch-merge-request", { status: "True", reason: "Succeeded" }, [
      { name: "fetch" },
    ]);
    const list = (...items: unknown[]) => ({
      apiVersion: "tekton.dev/v1",
      kind: "TaskRunList",
      items,
    });

    async function describe(
      answer: unknown,
      options: { report?: string; kubectlFails?: boolean } = {},
    ) {
      const root = tempDir("mr-describe");
      const bin = path.join(root, "bin");
      const answerFile = path.join(root, "answer.json");
      fs.writeFileSync(answerFile, JSON.stringify(answer));
      const calls = path.join(root, "kubectl.calls");
      stub(
        bin,
        "kubectl",
        [
          `printf '%s\\n' "$*" >> ${calls}`,
          options.kubectlFails
            ? `echo 'error: You must be logged in to the server (Unauthorized)' >&2; exit 1`
            : `cat ${answerFile}`,
        ].join("\n"),
      );
      const home = path.join(root, "home");
      fs.mkdirSync(home);
      // Tekton's per-pod HOME, /tekton/home, shared by the task's steps: a directory here.
      const detailFile = path.join(home, "failure-detail");
      fs.writeFileSync(detailFile, "left over from an earlier step\n");
      const run = await runScriptStep(STATUS_TASK, "describe-failure", {
        params: {
          report: options.report ?? "result",
          "pipeline-run": RUN,
          namespace: app.namespace,
          "build-tasks": "fetch-merge-request build-merge-request",
        },
        workspaces: {},
        home,
        bin,
        extraEnv: { HOME: home, FAILURE_DETAIL_FILE: detailFile },
      });
      return {
        ...run,
        detail: fs.existsSync(detailFile) ? fs.readFileSync(detailFile, "utf8") : undefined,
        calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [],
      };
    }

    it("the describe step writes where the post step reads, in Tekton's per-pod HOME", () => {
      const describeEnv = envOf(stepNamed(STATUS_TASK, "describe-failure"));
      const postEnv = envOf(stepNamed(STATUS_TASK, "post-status"));
      assert.equal(describeEnv.FAILURE_DETAIL_FILE, "/tekton/home/failure-detail");
      assert.equal(postEnv.FAILURE_DETAIL_FILE, describeEnv.FAILURE_DETAIL_FILE);
      assert.equal(stepNamed(STATUS_TASK, "describe-failure").onError, "continue");
      assert.deepEqual(
        STATUS_TASK.spec.steps.map((s) => s.name),
        ["describe-failure", "post-status"],
      );
    });

    it("names the failed task, step and exit code; reads only this run's TaskRuns", async () => {
      const result = await describe(
        list(
          succeededFetch,
          taskRun(
            "build-merge-request",
            {
              status: "False",
              reason: "Failed",
              message: '"step-build" exited with code 1: Error',
            },
            [{ name: "build", exitCode: 1 }],
          ),
        ),
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.detail, "Failed in build-merge-request, step build: exit code 1\n");
      assert.deepEqual(result.calls, [
        `get taskruns.tekton.dev --namespace python-hello-build --selector tekton.dev/pipelineRun=${RUN} --request-timeout 20s --output json`,
      ]);
    });

    it("names the first failed step, not the steps Tekton skipped after it", async () => {
      const result = await describe(
        list(
          taskRun("build-merge-request", { status: "False", reason: "Failed" }, [
            { name: "image-url" },
            { name: "build-and-push", exitCode: 2 },
            { name: "after", exitCode: 1, terminationReason: "Skipped" },
          ]),
        ),
      );
      assert.equal(
        result.detail,
        "Failed in build-merge-request, step build-and-push: exit code 2\n",
      );
    });

    it("adds the container's reason: OOMKilled", async () => {
      const result = await describe(
        list(
          taskRun(
            "build-merge-request",
            {
              status: "False",
              reason: "StepOOM",
              message: '"step-build" exited with code 137: OOMKilled',
            },
            [{ name: "build", exitCode: 137, reason: "OOMKilled" }],
          ),
        ),
      );
      assert.equal(
        result.detail,
        "Failed in build-merge-request, step build: exit code 137 (OOMKilled)\n",
      );
    });

    it("says a step timed out (terminationReason TimeoutExceeded)", async () => {
      const result = await describe(
        list(
          taskRun(
            "fetch-merge-request",
            {
              status: "False",
              reason: "Failed",
              message: '"step-fetch" exited because the step exceeded the specified timeout limit',
            },
            [{ name: "fetch", exitCode: 1, terminationReason: "TimeoutExceeded" }],
          ),
        ),
      );
      assert.equal(result.detail, "Failed in fetch-merge-request, step fetch: timed out\n");
    });

    it("says the task timed out when its TaskRun did (terminationReason TaskRunTimeout)", async () => {
      // pipeline v1.15.0 pkg/reconciler/taskrun/taskrun.go `terminateStepsInPod`: the running
      // step ends with exit code 1 and reason and terminationReason TaskRunTimeout.
      const result = await describe(
        list(
          taskRun(
            "build-merge-request",
            {
              status: "False",
              reason: "TaskRunTimeout",
              message: 'TaskRun "x" failed to finish within "1h0m0s"',
            },
            [
              {
                name: "build",
                exitCode: 1,
                reason: "TaskRunTimeout",
                terminationReason: "TaskRunTimeout",
              },
            ],
          ),
        ),
      );
      assert.equal(
        result.detail,
        "Failed in build-merge-request, step build: the task timed out\n",
      );
    });

    it("a task that failed without a failed step: its condition's reason and message, on one line", async () => {
      const result = await describe(
        list(
          succeededFetch,
          taskRun(
            "build-merge-request",
            {
              status: "False",
              reason: "PodEvicted",
              message:
                "The node was low on resource: ephemeral-storage.\nContainer step-build was using 9Gi.",
            },
            [{ name: "build", running: true }],
          ),
        ),
      );
      assert.equal(
        result.detail,
        "Failed in build-merge-request: PodEvicted: The node was low on resource: ephemeral-storage. Container step-build was using 9Gi.\n",
      );
    });

    it("the earliest failed build task when two failed", async () => {
      const early = taskRun(
        "fetch-merge-request",
        { status: "False", reason: "Failed" },
        [{ name: "fetch", exitCode: 128 }],
        "2026-12-01T12:01:00Z",
      );
      const late = taskRun(
        "build-merge-request",
        { status: "False", reason: "Failed" },
        [{ name: "build", exitCode: 1 }],
        "2026-12-01T12:09:00Z",
      );
      const result = await describe(list(late, early));
      assert.equal(result.detail, "Failed in fetch-merge-request, step fetch: exit code 128\n");
    });

    it("ignores cancelled TaskRuns and the status and cancel tasks", async () => {
      const result = await describe(
        list(
          succeededFetch,
          taskRun(
            "build-merge-request",
            { status: "False", reason: "TaskRunCancelled", message: "TaskRun cancelled" },
            [
              {
                name: "build",
                exitCode: 1,
                reason: "TaskRunCancelled",
                terminationReason: "TaskRunCancelled",
              },
            ],
          ),
          taskRun("report-running", { status: "False", reason: "FailureIgnored" }, [
            { name: "describe-failure" },
            { name: "post-status", exitCode: 1 },
          ]),
          taskRun("cancel-superseded", { status: "False", reason: "FailureIgnored" }, [
            { name: "cancel", exitCode: 1 },
          ]),
        ),
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.detail, undefined);
      assert.match(result.stdout, new RegExp(`no build task of ${RUN} failed`));
    });

    it("writes nothing for report-running, without asking the API", async () => {
      const result = await describe(list(), { report: "running" });
      assert.equal(result.code, 0);
      assert.equal(result.detail, undefined);
      assert.deepEqual(result.calls, []);
    });

    it("exits 0 and writes nothing when kubectl fails", async () => {
      const result = await describe(list(), { kubectlFails: true });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.detail, undefined);
      assert.match(
        result.stderr,
        /warning: could not read the TaskRuns of .*; the status names the failed task only/,
      );
    });

    it("exits 0 and writes nothing when the answer is not JSON", async () => {
      const result = await describe("<html>502 Bad Gateway</html>");
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.detail, undefined);
      assert.match(result.stderr, /warning: could not read the TaskRuns' status/);
    });
  });
});
