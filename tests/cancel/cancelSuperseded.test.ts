// Cancel-in-progress (tekton/cancel/cancelTask.ts): the cancel task's script run for real, with this
// machine's kubectl and jq, against a fake Kubernetes API server on 127.0.0.1
// (tests/harness/fakeKubeApi.ts) that serves the runs and records every request.
import * as assert from "node:assert/strict";
import { requireTool } from "../harness/tools";
import * as fs from "node:fs";
import * as path from "node:path";
import { AppConfig } from "../../config/schema";
import {
  BRANCH_HASH_LABEL,
  branchHash,
  CANCEL_SPEC_STATUS,
  CANCEL_TASK_NAME,
  cancelPipelineTasks,
  cancelSupersededTask,
} from "../../tekton/cancel/cancelTask";
import { appLabels } from "../../tekton/core/names";
import { durationSeconds, runTimeouts } from "../../tekton/core/timeouts";
import { RUN_METADATA } from "../../tekton/core/names";
import { FakeKubeApi, kubeconfig, startFakeKubeApi } from "../harness/fakeKubeApi";
import { appAndContext, removeTempDirs, runScriptStep, tempDir } from "../build/helpers";

const SELF = "build-python-hello-self1";
const OTHER_NAMESPACE = "other-build";
const TOKEN = "fake-service-account-token";

/** A PipelineRun as the app's TriggerTemplate labels it, for `branch`, created at `second`. */
function run(
  app: AppConfig,
  name: string,
  second: number,
  edits: { branch?: string; app?: string; spec?: any; conditions?: any[]; labels?: any } = {},
): any {
  const branch = edits.branch ?? app.branch;
  return {
    apiVersion: "tekton.dev/v1",
    kind: "PipelineRun",
    metadata: {
      name,
      namespace: app.namespace,
      creationTimestamp: `2026-11-29T10:00:${String(second).padStart(2, "0")}Z`,
      labels: edits.labels ?? {
        ...appLabels({ name: edits.app ?? app.name }),
        [RUN_METADATA.branchLabel]: branch.replace(/[^A-Za-z0-9._-]+/g, "-"),
        [BRANCH_HASH_LABEL]: branchHash(branch),
        "tekton.dev/pipeline": `build-${edits.app ?? app.name}`,
      },
      annotations: { [RUN_METADATA.branchAnnotation]: branch },
    },
    spec: { pipelineRef: { name: `build-${app.name}` }, ...edits.spec },
    status: edits.conditions === undefined ? {} : { conditions: edits.conditions },
  };
}

const succeeded = (status: string, reason: string) => [{ type: "Succeeded", status, reason }];

describe("cancel-superseded against a fake API server with the real kubectl", function () {
  this.timeout(60000);
  let api: FakeKubeApi;
  let app: AppConfig;
  let images: { kubectl: string };

  before(() => {
    requireTool("kubectl", "kubernetes-client");
    requireTool("jq");
    ({
      app,
      ctx: { images },
    } = appAndContext());
  });
  beforeEach(async () => {
    api = await startFakeKubeApi([app.namespace, OTHER_NAMESPACE]);
  });
  afterEach(async () => {
    await api.close();
    removeTempDirs();
  });

  const put = (...runs: any[]) => {
    for (const r of runs) api.runs.get(r.metadata.namespace)!.set(r.metadata.name, r);
  };

  /** The cancel step, with the params its pipeline task passes for run SELF. */
  async function cancel(self = SELF) {
    const [pipelineTask] = cancelPipelineTasks(app);
    const params = Object.fromEntries(
      pipelineTask.params.map((p) => [
        p.name,
        p.value
          .replace("$(context.pipelineRun.name)", self)
          .replace("$(context.pipelineRun.namespace)", app.namespace),
      ]),
    );
    const home = tempDir("cancel-home");
    const config = path.join(home, "kubeconfig");
    // The fake's namespace is the context's default too: the script must name it anyway.
    fs.writeFileSync(config, kubeconfig(api.url, OTHER_NAMESPACE, TOKEN));
    return runScriptStep(cancelSupersededTask(app, images), "cancel", {
      params,
      workspaces: {},
      home,
      extraEnv: { KUBECONFIG: config },
    });
  }

  const patched = () =>
    api.requests
      .filter((r) => r.method === "PATCH")
      .map((r) => ({ path: r.path, contentType: r.contentType, body: JSON.parse(r.body!) }));
  const patchOf = (name: string) => ({
    path: `/apis/tekton.dev/v1/namespaces/${app.namespace}/pipelineruns/${name}`,
    contentType: "application/merge-patch+json",
    body: { spec: { status: CANCEL_SPEC_STATUS } },
  });

  it("cancels exactly the older running runs of the same app and branch, never itself", async () => {
    put(
      run(app, SELF, 5, { conditions: succeeded("Unknown", "Running") }),
      run(app, "older-not-started", 1),
      run(app, "older-running", 3, { conditions: succeeded("Unknown", "Running") }),
      run(app, "older-succeeded", 2, { conditions: succeeded("True", "Succeeded") }),
      run(app, "older-failed", 2, { conditions: succeeded("False", "Failed") }),
      run(app, "older-already-cancelling", 2, {
        spec: { status: "CancelledRunFinally" },
        conditions: succeeded("Unknown", "CancelledRunningFinally"),
      }),
      run(app, "same-second", 5, { conditions: succeeded("Unknown", "Running") }),
      run(app, "newer", 8, { conditions: succeeded("Unknown", "Running") }),
      run(app, "other-branch", 1, { branch: "release/2.0" }),
      run(app, "other-app", 1, { app: "python-other" }),
      // Same selector labels, another branch in the annotation: a hash collision or a hand edit.
      {
        ...run(app, "same-hash-other-annotation", 1),
        metadata: {
          ...run(app, "same-hash-other-annotation", 1).metadata,
          annotations: { [RUN_METADATA.branchAnnotation]: "main2" },
        },
      },
      run(app, "started-by-hand", 1, { labels: { "tekton.dev/pipeline": `build-${app.name}` } }),
      {
        ...run(app, "older-elsewhere", 1),
        metadata: {
          ...run(app, "x", 1).metadata,
          namespace: OTHER_NAMESPACE,
          name: "older-elsewhere",
        },
      },
    );

    const result = await cancel();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.deepEqual(
      patched().sort((a, b) => a.path.localeCompare(b.path)),
      [patchOf("older-not-started"), patchOf("older-running")],
    );
    assert.match(result.stdout, /cancelled older-running \(CancelledRunFinally/);
    // Tekton now sees the runs as gracefully cancelled (pipelinerun_types.go IsGracefullyCancelled).
    assert.equal(
      api.runs.get(app.namespace)!.get("older-running").spec.status,
      "CancelledRunFinally",
    );
    assert.equal(api.runs.get(app.namespace)!.get(SELF).spec.status, undefined);

    // One list, in the run's own namespace, by the app's and branch's labels; then per run
    // kubectl patch's GET and the PATCH; nothing outside the namespace.
    const lists = api.requests.filter(
      (r) => r.method === "GET" && r.path.endsWith("/pipelineruns"),
    );
    assert.deepEqual(
      lists.map((r) => [r.path, r.query.labelSelector]),
      [
        [
          `/apis/tekton.dev/v1/namespaces/${app.namespace}/pipelineruns`,
          `app.kubernetes.io/managed-by=tekton-gitlab,app.kubernetes.io/part-of=${app.name},${BRANCH_HASH_LABEL}=${branchHash(app.branch)}`,
        ],
      ],
    );
    const apiCalls = api.requests.filter((r) =>
      r.path.startsWith("/apis/tekton.dev/v1/namespaces/"),
    );
    assert.ok(
      apiCalls.every((r) => r.path.startsWith(`/apis/tekton.dev/v1/namespaces/${app.namespace}/`)),
      JSON.stringify(apiCalls),
    );
    assert.deepEqual(
      apiCalls.map((r) => r.method).sort(),
      ["GET", "GET", "GET", "PATCH", "PATCH"],
      "one list, then a get and a patch per cancelled run: what the Role grants",
    );
    assert.ok(!`${result.stdout}${result.stderr}`.includes(TOKEN));
  });

  it("cancels nothing when nothing older runs, and says so", async () => {
    put(
      run(app, SELF, 5, { conditions: succeeded("Unknown", "Running") }),
      run(app, "newer", 9),
      run(app, "older-succeeded", 2, { conditions: succeeded("True", "Succeeded") }),
    );
    const result = await cancel();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(patched(), []);
    assert.match(result.stdout, /no older run of this branch is running/);
  });

  it("a run the selector does not list (started by hand) cancels nothing", async () => {
    put(run(app, "older-running", 1), run(app, "manual", 5, { labels: {} }));
    const result = await cancel("manual");
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(patched(), []);
    assert.match(result.stderr, /is not among them .* cancels nothing/);
  });

  it("a refused list (no RBAC) warns and exits 0: the build goes on", async () => {
    put(run(app, SELF, 5), run(app, "older-running", 1));
    api.refuseList = true;
    const result = await cancel();
    assert.equal(result.code, 0);
    assert.match(result.stderr, /warning: could not list the PipelineRuns/);
    assert.deepEqual(patched(), []);
  });

  it("an unreachable API server warns and exits 0", async () => {
    put(run(app, SELF, 5), run(app, "older-running", 1));
    await api.close();
    const result = await cancel();
    assert.equal(result.code, 0);
    assert.match(result.stderr, /warning: could not list/);
  });

  it("a refused patch (the run finished meanwhile) warns, the other runs are still cancelled", async () => {
    put(run(app, SELF, 5), run(app, "older-a", 1), run(app, "older-b", 2));
    api.refusePatch.set("older-a", 422);
    const result = await cancel();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /warning: could not cancel older-a/);
    assert.ok(
      patched().some((p) => p.path.endsWith("/older-b")),
      JSON.stringify(patched()),
    );
    assert.equal(api.runs.get(app.namespace)!.get("older-b").spec.status, CANCEL_SPEC_STATUS);
  });

  it("kubectl patch reads the run first: without `get` nothing is cancelled (the Role needs it)", async () => {
    put(run(app, SELF, 5), run(app, "older-running", 1));
    api.refuseGet = true;
    const result = await cancel();
    assert.equal(result.code, 0);
    assert.match(result.stderr, /warning: could not cancel older-running/);
    assert.deepEqual(patched(), []);
    assert.ok(
      api.requests.some(
        (r) => r.method === "GET" && r.path.endsWith("/pipelineruns/older-running"),
      ),
    );
  });

  it("patches only names a PipelineRun can have, whatever the list holds", async () => {
    put(run(app, SELF, 5), run(app, "older-ok", 1), run(app, "--all", 2), run(app, "a b", 3));
    const result = await cancel();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(patched(), [patchOf("older-ok")]);
    assert.match(result.stderr, /not a PipelineRun name, skipped: '--all'/);
    assert.match(result.stderr, /not a PipelineRun name, skipped: 'a b'/);
  });

  it("the step and the pipeline task both continue on error", () => {
    const [pipelineTask] = cancelPipelineTasks(app);
    assert.equal(pipelineTask.name, CANCEL_TASK_NAME);
    assert.equal(pipelineTask.onError, "continue");
    const [step] = cancelSupersededTask(app, images).spec.steps;
    assert.equal(step.onError, "continue");
    assert.equal(step.image, images.kubectl);
  });

  // pipeline v1.15.0 resources/pipelinerunstate.go `getPipelineTasksCount`: a TaskRun the run's
  // tasks timeout cancelled counts as Failed before OnError is looked at; one that hit its own
  // timeout (TaskRunTimeout) is ignored with onError: continue. Without a timeout of its own, a
  // stuck cancel task would hold the finally task back until timeouts.tasks and fail the run.
  it("ends on its own short timeout, before the run's tasks timeout could cancel it", () => {
    for (const [timeout, statusReporting] of [
      ["1h", true],
      ["1h", false],
      ["5m", true],
      ["1m", true],
      ["30s", false],
    ] as const) {
      const variant = appAndContext({
        apps: ([a]) => [{ ...a, statusReporting, pipelineRun: { timeout } }],
      }).app;
      const [pipelineTask] = cancelPipelineTasks(variant);
      const timeouts = runTimeouts(variant) as { pipeline: string; tasks?: string };
      const own = durationSeconds(pipelineTask.timeout ?? "0s");
      assert.ok(own >= 1 && own <= 120, `${timeout}: ${pipelineTask.timeout}`);
      assert.ok(
        own <= durationSeconds(timeouts.tasks ?? timeouts.pipeline) * 0.75,
        `${timeout}: ${pipelineTask.timeout} vs ${JSON.stringify(timeouts)}`,
      );
    }
  });
});
