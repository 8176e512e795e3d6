// Cancel-in-progress: when a push starts a run, the older runs of the same app and branch that
// are still running in the build namespace are cancelled, as Pipelines-as-Code's
// cancel-in-progress does (openshift-pipelines/pipelines-as-code
// pkg/pipelineascode/cancel_pipelineruns.go `cancelInProgressMatchingPR`). Pure builders: the
// Task, its pipeline task, the run's taskRunSpec and labels, and the ServiceAccount, Role and
// RoleBinding the task alone runs with. components/app/supersededRuns.ts deploys the RBAC objects.
import { createHash } from "node:crypto";
import * as path from "node:path";
import { AppConfig } from "../../config/schema";
import { appLabels } from "../core/names";
import { readScript } from "../core/scripts";
import { nonRootStepTemplate, stringParam, taskMetadata } from "../core/steps";
import { statusTaskTimeouts } from "../status/statusTasks";
import { RoleBindingManifest, RoleManifest } from "../core/triggerTypes";
import { ObjectMeta, PipelineTask, Task } from "../core/types";
import { env, param } from "../core/variables";

/** The Task and the pipeline task: part of the stack's contract (status tasks read its name). */
export const CANCEL_TASK_NAME = "cancel-superseded";
/** The one ServiceAccount of the app's build that holds an API token. */
export const CANCEL_SERVICE_ACCOUNT = "tekton-cancel";
/** Role and RoleBinding of CANCEL_SERVICE_ACCOUNT, in the build namespace. */
export const CANCEL_ROLE = "tekton-cancel-superseded";

/**
 * What the task writes into a superseded run's `spec.status`. Not `Cancelled`, which the issue
 * names: with `Cancelled` the reconciler never runs the run's `finally` tasks, so a superseded
 * run would never report `canceled` to GitLab. Tekton Pipelines v1.15.0:
 * - pkg/reconciler/pipelinerun/pipelinerun.go `ReconcileKind`: `if pr.IsCancelled()` calls
 *   `cancelPipelineRun` and returns; cancel.go `cancelPipelineRun` patches every child TaskRun
 *   to `TaskRunCancelled` and marks the run Succeeded=False, reason Cancelled, at once. `reconcile`,
 *   which schedules finally tasks, is never reached.
 * - `CancelledRunFinally` (pipelinerun_types.go: "cancel the pipeline run ... but ensure
 *   finally is run normally"): `reconcile` calls cancel.go `gracefullyCancelPipelineRun` while
 *   DAG tasks run (the same `cancelPipelineTaskRuns`: running TaskRuns get spec.status
 *   TaskRunCancelled and so, pkg/reconciler/taskrun/taskrun.go `ReconcileKind`, the reason
 *   `TaskRunCancelled`); resources/pipelinerunstate.go `DAGExecutionQueue` schedules no new DAG
 *   task, pipelinerunresolution.go `skip` skips the rest (GracefullyCancelledSkip),
 *   `GetFinalTasks` then starts the finally tasks, and `GetPipelineConditionStatus` ends the run
 *   Succeeded=False, reason Cancelled. Pipelines-as-Code writes the same value.
 */
export const CANCEL_SPEC_STATUS = "CancelledRunFinally";

/**
 * Label on every push's run: the branch as a label value. A branch name is not a label value in
 * general (`/`, length, characters; the `tekton-gitlab.io/branch` label is a lossy readable
 * form), a hash of it is: 40 hex digits of its SHA-256. The exact branch stays in the
 * `tekton-gitlab.io/branch` annotation, which the task compares as well.
 */
export const BRANCH_HASH_LABEL = "tekton-gitlab.io/branch-hash";

export function branchHash(branch: string): string {
  return createHash("sha256").update(branch, "utf8").digest("hex").slice(0, 40);
}

/** Labels the TriggerTemplate's PipelineRun carries for the cancel task's selector. */
export function cancelRunLabels(app: Pick<AppConfig, "branch">): Record<string, string> {
  return { [BRANCH_HASH_LABEL]: branchHash(app.branch) };
}

/** The label selector of the runs of `app`'s branch, as the task lists them. */
export function supersededSelector(app: Pick<AppConfig, "name" | "branch">): string {
  return appRunSelector(app, BRANCH_HASH_LABEL, branchHash(app.branch));
}

/** The label selector of the app's runs carrying `label=value` (the app's labels, then it). */
export function appRunSelector(app: Pick<AppConfig, "name">, label: string, value: string): string {
  const labels = appLabels(app);
  return [
    `app.kubernetes.io/managed-by=${labels["app.kubernetes.io/managed-by"]}`,
    `app.kubernetes.io/part-of=${labels["app.kubernetes.io/part-of"]}`,
    `${label}=${value}`,
  ].join(",");
}

/** The PipelineRun's `taskRunSpecs` entry: the cancel task alone runs as tekton-cancel. */
export function cancelTaskRunSpecs(
  app: Pick<AppConfig, "cancelSuperseded">,
): { pipelineTaskName: string; serviceAccountName: string }[] {
  return app.cancelSuperseded
    ? [{ pipelineTaskName: CANCEL_TASK_NAME, serviceAccountName: CANCEL_SERVICE_ACCOUNT }]
    : [];
}

export const CANCEL_PARAMS = {
  pipelineRun: "pipeline-run",
  namespace: "namespace",
  selector: "selector",
} as const;

/**
 * The pipeline task. No `runAfter`: it starts with the first task and adds nothing to the
 * critical path. `onError: continue` (Tekton v1.15.0 pipeline_types.go PipelineTaskContinue;
 * resources/pipelinerunstate.go `IsStopping` ignores a failed task with it and
 * `getPipelineTasksCount` counts it as IgnoredFailed, so the run still succeeds): a failure to
 * cancel, even one the script cannot catch (image pull, eviction), never fails the build.
 */
export function cancelPipelineTasks(app: AppConfig): PipelineTask[] {
  if (!app.cancelSuperseded) return [];
  return [
    {
      name: CANCEL_TASK_NAME,
      taskRef: { name: CANCEL_TASK_NAME, kind: "Task" },
      onError: "continue",
      // Its own timeout, like report-running's (2 minutes, less in a short run): a TaskRun the
      // run's tasks timeout cancels counts as Failed despite onError (pipelinerunstate.go
      // `getPipelineTasksCount`, `isCancelledForTimeOut`), one that hits its own does not; and
      // a stuck cancel would otherwise hold the finally task back until then.
      timeout: statusTaskTimeouts(app).running,
      params: [
        { name: CANCEL_PARAMS.pipelineRun, value: "$(context.pipelineRun.name)" },
        { name: CANCEL_PARAMS.namespace, value: "$(context.pipelineRun.namespace)" },
        { name: CANCEL_PARAMS.selector, value: supersededSelector(app) },
      ],
      workspaces: [],
    },
  ];
}

/**
 * scripts/cancel-superseded.sh (bash, with jq: kubernetes/kubernetes
 * build/server-image/kubectl/Dockerfile installs bash, grep, sed, gawk, coreutils, jq and
 * diffutils on debian-base). It lists the runs its own run's labels select, keeps those of the same branch (annotation) that
 * are not done and were created strictly before its own run, and cancels each. Its own run
 * comes out of the same list (a run whose labels the selector does not match, one started by
 * hand, cancels nothing).
 *
 * Older: creationTimestamp strictly earlier. The API server stamps it in whole seconds, so two
 * pushes' runs can carry the same second; neither is older then, and both keep running. A
 * tie-break on the name would be deterministic too, but generateName's suffix is random: it could
 * cancel the newer commit's run and leave the older one to deploy. With both running, the patch
 * task's "newest wins" rule (tekton/build/scripts/commit-and-push.sh: the deployed commit is
 * replaced only by a descendant, decided from the source history, never by which run finishes
 * first) keeps the older commit from replacing the newer one whichever finishes last. Runs are
 * created in the order the listener handles GitLab's deliveries, so a delivery resent by hand
 * for an older push cancels the newer run; the same rule keeps that older commit from replacing
 * a newer deployed one, and the next push builds the branch tip again.
 *
 * Every failure (API unreachable, refused, a run finishing between list and patch: Tekton's
 * webhook refuses spec changes to a done run, pipelinerun_validation.go `ValidateUpdate`) is a
 * warning and exit 0: cancelling is an optimisation, never a reason to fail the build.
 */
const CANCEL_SCRIPT = readScript(path.join(__dirname, "scripts"), "cancel-superseded.sh");

/** The Task `cancel-superseded`, in the app's namespace. */
export function cancelSupersededTask(app: AppConfig, images: { kubectl: string }): Task {
  return {
    apiVersion: "tekton.dev/v1",
    kind: "Task",
    metadata: taskMetadata(app, CANCEL_TASK_NAME),
    spec: {
      description:
        "Cancels the older runs of this app and branch that are still running " +
        `(spec.status ${CANCEL_SPEC_STATUS}: their finally tasks run). Never fails the build.`,
      params: [
        stringParam(CANCEL_PARAMS.pipelineRun, "This task's own run"),
        stringParam(CANCEL_PARAMS.namespace, "The runs' namespace"),
        stringParam(CANCEL_PARAMS.selector, "Label selector of the runs of this app and branch"),
      ],
      workspaces: [],
      stepTemplate: nonRootStepTemplate,
      steps: [
        {
          name: "cancel",
          image: images.kubectl,
          env: [
            env("PIPELINE_RUN", param(CANCEL_PARAMS.pipelineRun)),
            env("NAMESPACE", param(CANCEL_PARAMS.namespace)),
            env("SELECTOR", param(CANCEL_PARAMS.selector)),
          ],
          // Second guard besides the script's exit 0: a crash is recorded, the TaskRun still
          // succeeds (v1.15.0 cmd/entrypoint/main.go: with on_error "continue" a non-zero exit
          // ends the step, not the TaskRun), so `$(tasks.status)` stays clean for the status task.
          onError: "continue",
          script: CANCEL_SCRIPT,
        },
      ],
    },
  };
}

/** The app's cancel Task, or none. */
export function cancelTasks(app: AppConfig, images: { kubectl: string }): Task[] {
  return app.cancelSuperseded ? [cancelSupersededTask(app, images)] : [];
}

export interface CancelServiceAccountManifest {
  apiVersion: "v1";
  kind: "ServiceAccount";
  metadata: ObjectMeta;
  automountServiceAccountToken: true;
}

const RBAC_API = "rbac.authorization.k8s.io";

/**
 * The cancel task's own identity. Unlike tekton-build it mounts its API token (the pod takes the
 * ServiceAccount's setting: pipeline v1.15.0 pkg/pod/pod.go `Build` copies only the pod
 * template's automountServiceAccountToken, which the run does not set). It lists no Secrets, so
 * credential init (pkg/pod/creds_init.go `credsInit`) gives its step nothing else.
 */
export function cancelServiceAccount(app: AppConfig): CancelServiceAccountManifest {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: CANCEL_SERVICE_ACCOUNT, namespace: app.namespace, labels: appLabels(app) },
    automountServiceAccountToken: true,
  };
}

/**
 * get, list and patch PipelineRuns in the build namespace, nothing else (no watch, no update, no
 * other resource, no other namespace). `get` because `kubectl patch NAME` reads the object before
 * it sends the PATCH: k8s.io/cli-runtime pkg/resource/builder.go `Do` adds `RetrieveLazy` to the
 * visitor whenever an object is required (the default), and kubectl's patch command
 * (staging/src/k8s.io/kubectl/pkg/cmd/patch/patch.go `RunPatch`) does not turn that off;
 * tests/cancel/cancelSuperseded.test.ts shows the patch refused without it. For a run that is not done,
 * Tekton's webhook lets an update change only spec.status (v1.15.0
 * pkg/apis/pipeline/v1/pipelinerun_validation.go `ValidateUpdate`); a done run's spec cannot
 * change at all.
 */
export function cancelRole(app: AppConfig): RoleManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "Role",
    metadata: { name: CANCEL_ROLE, namespace: app.namespace, labels: appLabels(app) },
    rules: [
      { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["get", "list", "patch"] },
    ],
  };
}

export function cancelRoleBinding(app: AppConfig): RoleBindingManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "RoleBinding",
    metadata: { name: CANCEL_ROLE, namespace: app.namespace, labels: appLabels(app) },
    roleRef: { apiGroup: RBAC_API, kind: "Role", name: CANCEL_ROLE },
    subjects: [{ kind: "ServiceAccount", name: CANCEL_SERVICE_ACCOUNT, namespace: app.namespace }],
  };
}
