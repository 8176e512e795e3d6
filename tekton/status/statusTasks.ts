// The build's status on the commit and the merge request in GitLab: one Task,
// `report-build-status`, used twice in the app's Pipeline when `apps[].statusReporting` is on:
//  - `report-running`, a DAG task with no runAfter: it runs beside generate-image-tag and adds
//    nothing to the critical path;
//  - `report-result`, a `finally` task: success, failed or canceled from the build tasks'
//    execution status.
// It is the only task that holds the GitLab token (a Secret workspace) and the only one that
// talks to GitLab's API. A GitLab problem never fails the build: the script retries briefly,
// then logs a warning and exits 0; the step and both pipeline tasks also carry
// `onError: continue`, so not even a broken image or a timeout of the status task fails a run.
import * as path from "node:path";
import { AppConfig, GitLabEndpoint, STATUS_TOKEN_KEY } from "../../config/schema";
import {
  GITLAB_CA_CONFIGMAP,
  GITLAB_CA_KEY,
  INSECURE_GITLAB_ANNOTATION,
  pipelineName,
  WORKSPACES,
} from "../core/names";
import type { BuildContext } from "../build/context";
import { readScript } from "../core/scripts";
import { nonRootSecurityContext, STEP_HOME, stringParam, taskMetadata } from "../core/steps";
import { durationSeconds, runTimeouts } from "../core/timeouts";
import { Param, ParamSpec, PipelineTask, Step, Task } from "../core/types";
import { env, param, workspacePath } from "../core/variables";

/** The Task and its two uses in the Pipeline. */
export const STATUS_TASK_NAME = "report-build-status";
export const STATUS_PIPELINE_TASKS = {
  running: "report-running",
  result: "report-result",
} as const;

export const STATUS_PARAMS = {
  apiUrl: "gitlab-api-url",
  project: "gitlab-project",
  revision: "revision",
  ref: "ref",
  name: "status-name",
  targetUrl: "target-url",
  report: "report",
  taskStates: "task-states",
  aggregateStatus: "aggregate-status",
} as const;

/**
 * How long the script may try: ATTEMPTS requests of at most MAX_TIME seconds each (CONNECT_TIMEOUT
 * to connect), with 1 s, 2 s ... between them: at most about 33 s. The pipeline tasks' own
 * timeout (STATUS_TASK_TIMEOUT) bounds the pod, image pull included.
 */
export const STATUS_RETRY = { attempts: 3, connectTimeout: 5, maxTime: 10 } as const;
export const STATUS_TASK_TIMEOUT = "2m";

/**
 * The script, scripts/post-status.sh: POSIX sh (busybox ash in the curl image, dash in the
 * tests), read once with and without scripts/gitlab-insecure.sh's `--insecure`. Params reach it
 * through env only. The token goes from the Secret file into a private header file through
 * `printf`, a shell builtin: never into argv, the environment or the log (no `set -x`).
 *
 * GitLab's answers (gitlabhq lib/api/commit_statuses.rb `post ':id/statuses/:sha'`, and
 * app/services/ci/create_commit_status_service.rb on current versions): the status to update
 * is the `running_or_pending` one with the same name and ref, else a new one; `running` does
 * `enqueue` then `run!`, so posting `running` onto a running status is refused with 400
 * "Cannot transition status via :run from :running": the state it asked for, so not a warning
 * (a retry after a lost answer gets exactly that). `success`, `failed` (`drop!`) and `canceled`
 * move a created, pending or running status on (app/models/commit_status.rb state machine);
 * after a final state no running one is left, so the next post starts a new status. 401 (bad
 * or expired token), 403 (role below Developer), 404 (project or commit not visible) and other
 * 4xx will not change on a retry; 429, 5xx and connection failures may, and so may a lost lock:
 * create_commit_status_service.rb `execute` answers 409 when it cannot take the commit's lock
 * (its own comment: a 409 "can result in a job stuck in running or pending"), and
 * app/services/ci/pipelines/add_job_service.rb `execute!` a 400 "Failed to obtain a lock" when
 * it cannot take the pipeline's (other statuses of the same commit written at the same time).
 */
const STATUS_SCRIPTS = path.join(__dirname, "scripts");
const postStatus = (omit: string[]) => readScript(STATUS_SCRIPTS, "post-status.sh", { omit });
const INSECURE = "gitlab-insecure.sh";
const DESCRIBE_RESULT = "describe-result.sh";
const POST_STATUS_SCRIPTS = {
  verified: postStatus([INSECURE, DESCRIBE_RESULT]),
  insecure: postStatus([DESCRIBE_RESULT]),
  describedVerified: postStatus([INSECURE]),
  describedInsecure: postStatus([]),
};

/**
 * The step's script for a GitLab whose certificate is verified, or not (gitlab:insecure);
 * `described`: with scripts/describe-result.sh, for a Task whose run describes its own result
 * (StatusVariant `described`).
 */
export function statusScript(insecure: boolean, described = false): string {
  if (described) return POST_STATUS_SCRIPTS[insecure ? "describedInsecure" : "describedVerified"];
  return POST_STATUS_SCRIPTS[insecure ? "insecure" : "verified"];
}

/**
 * Which status Task: the push build's `report-build-status`, or one whose result names the
 * failed task and step (a merge request's, tekton/mergeRequest): then `describeStep` runs
 * before the post and leaves its words in FAILURE_DETAIL_FILE, and `successDescription`
 * replaces the push build's "Built ..., updated the deployment".
 */
export interface StatusVariant {
  taskName: string;
  /** The commit status `name` in GitLab. */
  statusName: string;
  /** The Pipeline the run is of (for the dashboard link's length). */
  pipeline: string;
  describeStep: Step;
  /** Params the describe step reads, besides the status Task's own. */
  describeParams: ParamSpec[];
  /** Their values in the pipeline tasks. */
  describeArgs: Param[];
  successDescription: string;
}

/** Where the describe step leaves the failure's words: Tekton's per-pod HOME, in every step. */
export const FAILURE_DETAIL_FILE = `${STEP_HOME}/failure-detail`;
/**
 * The longest description the status step sends: GitLab's documented limit (lib/api/
 * commit_statuses.rb `optional :description, type: String, desc: '... Must be 255 characters or
 * fewer.'`; doc/api/commits.md says the same), though app/models/generic_commit_status.rb
 * validates only `target_url`'s length. Cut here, so a GitLab that enforces it never refuses
 * the status; the merge request widget shows one line anyway.
 */
export const DESCRIPTION_MAX_LENGTH = 255;

/** The GitLab endpoint of a context with status reporting; a clear error when it has none. */
function endpointOf(ctx: Pick<BuildContext, "gitlab">): GitLabEndpoint {
  if (!ctx.gitlab) {
    throw new Error(
      "status reporting needs gitlab:baseUrl (config/load.ts reports it as a config problem)",
    );
  }
  return ctx.gitlab;
}

/** The Task posting one commit status; `report` says which (running, or the final result). */
export function reportBuildStatusTask(
  app: AppConfig,
  ctx: BuildContext,
  variant?: StatusVariant,
): Task {
  const endpoint = endpointOf(ctx);
  const postStep: Step = {
    name: "post-status",
    image: ctx.images.curl,
    env: [
      env("HOME", STEP_HOME),
      env("GITLAB_API_URL", param(STATUS_PARAMS.apiUrl)),
      env("PROJECT_ID", param(STATUS_PARAMS.project)),
      env("REVISION", param(STATUS_PARAMS.revision)),
      env("REF", param(STATUS_PARAMS.ref)),
      env("STATUS_NAME", param(STATUS_PARAMS.name)),
      env("TARGET_URL", param(STATUS_PARAMS.targetUrl)),
      env("REPORT", param(STATUS_PARAMS.report)),
      env("TASK_STATES", param(STATUS_PARAMS.taskStates)),
      env("AGGREGATE_STATUS", param(STATUS_PARAMS.aggregateStatus)),
      env("TOKEN_FILE", `${workspacePath(WORKSPACES.statusToken)}/${STATUS_TOKEN_KEY}`),
      env(
        "CA_FILE",
        endpoint.caCert === undefined
          ? ""
          : `${workspacePath(WORKSPACES.gitlabCa)}/${GITLAB_CA_KEY}`,
      ),
      env("ATTEMPTS", STATUS_RETRY.attempts),
      env("CONNECT_TIMEOUT", STATUS_RETRY.connectTimeout),
      env("MAX_TIME", STATUS_RETRY.maxTime),
      ...(variant === undefined
        ? []
        : [
            env("SUCCESS_DESCRIPTION", variant.successDescription),
            env("FAILURE_DETAIL_FILE", FAILURE_DETAIL_FILE),
            env("DESCRIPTION_MAX_LENGTH", DESCRIPTION_MAX_LENGTH),
          ]),
    ],
    // Nothing privileged; the curl image's own user is replaced by nobody, like the git steps.
    securityContext: nonRootSecurityContext,
    // A second guard: whatever the script does, the TaskRun succeeds (pipeline v1.15.0
    // pkg/apis/pipeline/v1/container_types.go `OnError` "continue": the step's non-zero
    // exit is recorded, the task goes on and succeeds).
    onError: "continue",
    script: statusScript(endpoint.insecure, variant !== undefined),
    // With a describe step beside it, only this step mounts the GitLab token (and CA).
    ...(variant === undefined
      ? {}
      : {
          workspaces: statusWorkspaceNames(endpoint).map((name) => ({ name })),
        }),
  };
  return {
    apiVersion: "tekton.dev/v1",
    kind: "Task",
    metadata: taskMetadata(
      app,
      variant?.taskName ?? STATUS_TASK_NAME,
      endpoint.insecure ? { [INSECURE_GITLAB_ANNOTATION]: "true" } : undefined,
    ),
    spec: {
      description:
        "Posts the build's status on the commit to GitLab's commit status API (it shows next " +
        "to the commit and in the merge request). Never fails: a GitLab problem is a warning.",
      params: [
        stringParam(STATUS_PARAMS.apiUrl, "GitLab's API, <instance>/api/v4"),
        stringParam(STATUS_PARAMS.project, "The source project, its path URL-encoded"),
        stringParam(STATUS_PARAMS.revision, "The commit the status is for"),
        stringParam(STATUS_PARAMS.ref, "The branch the commit was pushed to"),
        stringParam(STATUS_PARAMS.name, "The status name (context) in GitLab"),
        stringParam(STATUS_PARAMS.targetUrl, "Link from the status to the run; empty: none", ""),
        stringParam(STATUS_PARAMS.report, "running, or result (from task-states)"),
        stringParam(
          STATUS_PARAMS.taskStates,
          "For result: one line per build task, <name> <status> <reason>",
          "",
        ),
        stringParam(
          STATUS_PARAMS.aggregateStatus,
          "For result: the run's aggregate status (tasks.status)",
          "",
        ),
        ...(variant?.describeParams ?? []),
      ],
      workspaces: [
        {
          name: WORKSPACES.statusToken,
          description: `Secret with the GitLab token (key ${STATUS_TOKEN_KEY})`,
          readOnly: true,
        },
        ...(endpoint.caCert === undefined
          ? []
          : [
              {
                name: WORKSPACES.gitlabCa,
                description: `ConfigMap ${GITLAB_CA_CONFIGMAP}: GitLab's CA (key ${GITLAB_CA_KEY})`,
                readOnly: true,
              },
            ]),
      ],
      steps: variant === undefined ? [postStep] : [variant.describeStep, postStep],
    },
  };
}

/** The Pipeline workspaces the status tasks need (bound in the TriggerTemplate's run). */
export function statusWorkspaces(app: AppConfig, ctx: Pick<BuildContext, "gitlab">): string[] {
  if (!app.statusReporting.enabled) return [];
  return statusWorkspaceNames(ctx.gitlab);
}

function statusWorkspaceNames(gitlab: GitLabEndpoint | undefined): string[] {
  return [WORKSPACES.statusToken, ...(gitlab?.caCert === undefined ? [] : [WORKSPACES.gitlabCa])];
}

/** GitLab's limit (gitlabhq app/models/generic_commit_status.rb `validates :target_url`). */
export const TARGET_URL_MAX_LENGTH = 255;

/**
 * The run's page on the Tekton Dashboard, when its URL is known; none when the link could be
 * longer than GitLab takes (a longer `target_url` makes GitLab refuse the whole status, 400).
 * The run's name is the TriggerTemplate's generateName `build-<app>-` plus 5 characters, the
 * prefix cut to 58 (k8s.io/apiserver pkg/storage/names/generate.go `GenerateName`).
 */
export function statusTargetUrl(
  app: AppConfig,
  ctx: Pick<BuildContext, "dashboardUrl">,
  pipeline: string = pipelineName(app),
): string {
  if (ctx.dashboardUrl === undefined) return "";
  const runName = "$(context.pipelineRun.name)";
  const url = `${ctx.dashboardUrl.replace(/\/+$/, "")}/#/namespaces/${app.namespace}/pipelineruns/${runName}`;
  const longestRunName = Math.min(`${pipeline}-`.length, 58) + 5;
  return url.length - runName.length + longestRunName > TARGET_URL_MAX_LENGTH ? "" : url;
}

/**
 * `report-running` and the `finally` task `report-result`, or none when status reporting is
 * off. `buildTasks`: the Pipeline's other DAG tasks, whose execution status and reason the
 * result is computed from (`$(tasks.<t>.status)`, `$(tasks.<t>.reason)`: allowed in finally
 * params only, pipeline v1.15.0 pkg/apis/pipeline/v1/pipeline_validation.go
 * `validateExecutionStatusVariablesAllowed`).
 *
 * Not `$(tasks.status)` alone: a failed report-running (its onError: continue) still makes it
 * Failed (pipelinerunstate.go GetPipelineTaskStatus: `haveAnyTaskRunsFailed`) though the run
 * succeeds, and a run cancelled before its first task ran is Completed (every task skipped).
 * It is passed along for the log.
 */
export function statusPipelineTasks(
  app: AppConfig,
  ctx: BuildContext,
  buildTasks: string[],
  branchParam: string,
  revisionParam: string,
  variant?: StatusVariant,
): { running: PipelineTask; result: PipelineTask } | undefined {
  const status = app.statusReporting;
  if (!status.enabled) return undefined;
  const endpoint = endpointOf(ctx);
  const workspaces = statusWorkspaces(app, ctx).map((name) => ({ name, workspace: name }));
  const common: Param[] = [
    { name: STATUS_PARAMS.apiUrl, value: endpoint.apiUrl },
    // The configured path, URL-encoded (GitLab takes `group%2Fproject` as the id): known when
    // the Pipeline is rendered, so nothing from the push payload chooses where statuses go.
    { name: STATUS_PARAMS.project, value: encodeURIComponent(app.sourceProject) },
    { name: STATUS_PARAMS.revision, value: param(revisionParam) },
    { name: STATUS_PARAMS.ref, value: param(branchParam) },
    { name: STATUS_PARAMS.name, value: variant?.statusName ?? status.context },
    { name: STATUS_PARAMS.targetUrl, value: statusTargetUrl(app, ctx, variant?.pipeline) },
    ...(variant?.describeArgs ?? []),
  ];
  const base = {
    taskRef: { name: variant?.taskName ?? STATUS_TASK_NAME, kind: "Task" as const },
    workspaces,
    // Neither task's failure (an image that cannot be pulled, its timeout) fails the run or
    // stops the DAG (pipeline v1.15.0 pipelinerunstate.go IsStopping skips tasks with
    // OnError continue; their failures count as "Ignored").
    onError: "continue" as const,
  };
  const timeouts = statusTaskTimeouts(app);
  const taskStates = buildTasks
    .map((t) => `${t} $(tasks.${t}.status) $(tasks.${t}.reason)`)
    .join("\n");
  return {
    running: {
      name: STATUS_PIPELINE_TASKS.running,
      ...base,
      timeout: timeouts.running,
      params: [...common, { name: STATUS_PARAMS.report, value: "running" }],
    },
    result: {
      name: STATUS_PIPELINE_TASKS.result,
      ...base,
      timeout: timeouts.result,
      params: [
        ...common,
        { name: STATUS_PARAMS.report, value: "result" },
        { name: STATUS_PARAMS.taskStates, value: taskStates },
        { name: STATUS_PARAMS.aggregateStatus, value: "$(tasks.status)" },
      ],
    },
  };
}

/**
 * The status tasks' own timeouts: STATUS_TASK_TIMEOUT, shortened to three quarters of the run's
 * share they run in (`timeouts.tasks` for report-running, `timeouts.finally` for report-result)
 * when that share is short. A TaskRun that hits its own timeout (reason TaskRunTimeout) is a
 * failure `onError: continue` ignores; one the run's share cancels is not: pipeline v1.15.0
 * pkg/reconciler/pipelinerun/resources/pipelinerunstate.go `getPipelineTasksCount` counts
 * `isCancelledForTimeOut` (spec.statusMessage TaskRunCancelledByPipelineTimeoutMsg, set by
 * pkg/reconciler/pipelinerun/timeout.go) as Failed before it looks at OnError, so a slow GitLab
 * would fail a successful run. The quarter left is the margin between the share starting and
 * the TaskRun (and its clock) starting. `running` is also the cancel-superseded task's
 * (tekton/cancel/cancelTask.ts), which runs in the same share beside the first task.
 */
export function statusTaskTimeouts(app: AppConfig): { running: string; result: string } {
  const limit = durationSeconds(STATUS_TASK_TIMEOUT);
  const own = (share: number): string => {
    const seconds = Math.max(1, Math.min(limit, Math.floor((share * 3) / 4)));
    return seconds === limit ? STATUS_TASK_TIMEOUT : `${seconds}s`;
  };
  const timeouts = runTimeouts(app);
  if (!("tasks" in timeouts)) {
    const total = durationSeconds(timeouts.pipeline);
    return { running: own(total), result: own(total) };
  }
  return {
    running: own(durationSeconds(timeouts.tasks)),
    result: own(durationSeconds(timeouts.finally)),
  };
}
