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
import { AppConfig, GitLabEndpoint, STATUS_TOKEN_KEY } from "../../config/schema";
import {
  appLabels,
  GITLAB_CA_CONFIGMAP,
  GITLAB_CA_KEY,
  INSECURE_GITLAB_ANNOTATION,
  pipelineName,
  WORKSPACES,
} from "../core/names";
// A cycle with tasks.ts (it calls reportBuildStatusTask): both sides use it at call time only.
import { type BuildContext, nonRootSecurityContext } from "../build/tasks";
import { Param, PipelineTask, Task } from "../core/types";
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
 * Kept from the PipelineRun's timeout for the `finally` task (`timeouts.finally`). With
 * `timeouts.pipeline` alone, a run that times out cancels every TaskRun, finally ones included,
 * and never starts them (pipeline v1.15.0 docs/pipelineruns.md "Configuring a failure timeout"):
 * GitLab would show `running` forever. Split, the tasks stop at `timeouts.tasks` and the
 * finally task still reports.
 */
export const STATUS_FINALLY_BUDGET_SECONDS = 180;

/**
 * The script. POSIX sh (busybox ash in the curl image, dash in the tests). Params reach it
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
export function statusScript(insecure: boolean): string {
  return `#!/bin/sh
set -u

warn() {
  echo "warning: $*; the build goes on without this status in GitLab" >&2
  exit 0
}

case "$REVISION" in
  "" | *[!0-9a-f]*) warn "revision must be a hex commit id, got: '$REVISION'" ;;
esac
SHORT_SHA="$(printf '%.8s' "$REVISION")"

if [ "$REPORT" = running ]; then
  STATE=running
  DESCRIPTION="Building $SHORT_SHA"
else
  # One line per build task: <pipeline task> <its execution status> <its reason>. The reason
  # tells a cancelled TaskRun (TaskRunCancelled) from a failed one; a task that never ran has
  # status None (pipeline v1.15.0 pipelinerunstate.go GetPipelineTaskStatus).
  seen="" cancelled="" failed="" failed_reason="" not_run=""
  while read -r name status reason; do
    if [ -z "$name" ]; then continue; fi
    seen=yes
    if [ "$reason" = TaskRunCancelled ] && [ -z "$cancelled" ]; then cancelled="$name"; fi
    case "$status" in
      Succeeded) ;;
      Failed)
        if [ "$reason" != TaskRunCancelled ] && [ -z "$failed" ]; then
          failed="$name"
          failed_reason="$reason"
        fi
        ;;
      *) if [ -z "$not_run" ]; then not_run="$name"; fi ;;
    esac
  done <<EOF
$TASK_STATES
EOF
  echo "build tasks: $(printf '%s' "$TASK_STATES" | tr '\\n' ';'); aggregate status: $AGGREGATE_STATUS"
  if [ -n "$cancelled" ]; then
    STATE=canceled
    DESCRIPTION="Cancelled during $cancelled (a newer push, by hand, or out of time)"
  elif [ -n "$failed" ]; then
    STATE=failed
    case "$failed_reason" in
      TaskRunTimeout) DESCRIPTION="$failed timed out" ;;
      "" | Failed) DESCRIPTION="Failed in $failed" ;;
      *) DESCRIPTION="Failed in $failed ($failed_reason)" ;;
    esac
  elif [ -n "$not_run" ]; then
    STATE=canceled
    DESCRIPTION="Stopped before $not_run ran (cancelled or out of time)"
  elif [ -n "$seen" ]; then
    STATE=success
    DESCRIPTION="Built $SHORT_SHA, pushed the image and updated the deployment"
  else
    # No build task listed: the run's aggregate status alone.
    case "$AGGREGATE_STATUS" in
      Succeeded | Completed) STATE=success; DESCRIPTION="Built $SHORT_SHA" ;;
      Failed) STATE=failed; DESCRIPTION="Failed" ;;
      *) STATE=canceled; DESCRIPTION="Stopped before all tasks ran" ;;
    esac
  fi
fi

if [ ! -s "$TOKEN_FILE" ]; then
  warn "no token at $TOKEN_FILE: the Secret bound to workspace ${WORKSPACES.statusToken} needs key ${STATUS_TOKEN_KEY}"
fi
HEADERS="$(mktemp)" || warn "cannot create a temporary file"
BODY="$(mktemp)" || warn "cannot create a temporary file"
ERRORS="$(mktemp)" || warn "cannot create a temporary file"
trap 'rm -f "$HEADERS" "$BODY" "$ERRORS"' EXIT
token="$(tr -d ' \\t\\r\\n' < "$TOKEN_FILE")"
printf 'PRIVATE-TOKEN: %s\\n' "$token" > "$HEADERS"
token=""

set --
if [ -n "$CA_FILE" ]; then
  if [ ! -s "$CA_FILE" ]; then warn "no CA at $CA_FILE (ConfigMap ${GITLAB_CA_CONFIGMAP}, key ${GITLAB_CA_KEY})"; fi
  set -- "$@" --cacert "$CA_FILE"
fi
${insecure ? '# gitlab:insecure: true (the Task is annotated so).\nset -- "$@" --insecure\n' : ""}if [ -n "$TARGET_URL" ]; then set -- "$@" --data-urlencode "target_url=$TARGET_URL"; fi

URL="$GITLAB_API_URL/projects/$PROJECT_ID/statuses/$REVISION"
attempt=1
while :; do
  code="$(curl --silent --show-error --output "$BODY" --write-out '%{http_code}' \\
    --connect-timeout "$CONNECT_TIMEOUT" --max-time "$MAX_TIME" \\
    --header "@$HEADERS" \\
    --data-urlencode "state=$STATE" \\
    --data-urlencode "ref=$REF" \\
    --data-urlencode "name=$STATUS_NAME" \\
    --data-urlencode "description=$DESCRIPTION" \\
    "$@" "$URL" 2>"$ERRORS")"
  rc=$?
  case "$rc:$code" in
    0:2??)
      echo "GitLab shows $STATUS_NAME: $STATE on $SHORT_SHA ($DESCRIPTION)"
      exit 0
      ;;
  esac
  answer="$(head -c 300 "$BODY" | tr -d '\\r\\n')"
  if [ "$rc" -eq 0 ] && [ "$code" = 400 ] && grep -q 'Cannot transition status' "$BODY"; then
    echo "GitLab already shows $STATUS_NAME: $STATE on $SHORT_SHA ($answer)"
    exit 0
  fi
  retry=no
  if [ "$rc" -ne 0 ]; then
    problem="no answer from $GITLAB_API_URL (curl exit $rc: $(head -c 300 "$ERRORS" | tr -d '\\r\\n'))"
    case "$rc" in
      # Bad URL, certificate or CA file problems: the same on every try.
      3 | 58 | 60 | 77) ;;
      *) retry=yes ;;
    esac
  else
    problem="GitLab answered HTTP $code: $answer"
    case "$code" in
      429 | 5??) retry=yes ;;
      # Another update of this commit's statuses held GitLab's lock: 409 from the commit lock,
      # 400 "Failed to obtain a lock" from the pipeline's. Transient.
      409) retry=yes ;;
      400) if grep -q 'Failed to obtain a lock' "$BODY"; then retry=yes; fi ;;
      401) problem="$problem (the token is wrong, expired or revoked)" ;;
      # create_commit_status_service.rb: 403 unless :update_pipeline, which ci/pipeline_policy.rb
      # grants only to a user who may push or merge to the ref (GitLab's default protection of
      # the default branch: Maintainers only).
      403) problem="$problem (the token needs at least the Developer role on the project and, if branch $REF is protected, to be allowed to push or merge to it: in Settings > Repository > Protected branches, allowed to merge: Developers + Maintainers)" ;;
      404) problem="$problem (project $PROJECT_ID or commit $REVISION not visible to the token)" ;;
      3??) problem="$problem (a redirect: set gitlab:baseUrl to the address GitLab answers on)" ;;
    esac
  fi
  if [ "$retry" = no ] || [ "$attempt" -ge "$ATTEMPTS" ]; then
    warn "posting $STATE for $SHORT_SHA failed after $attempt attempt(s): $problem"
  fi
  echo "posting $STATE failed (attempt $attempt of $ATTEMPTS): $problem; retrying" >&2
  sleep "$attempt"
  attempt=$((attempt + 1))
done
`;
}

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
export function reportBuildStatusTask(app: AppConfig, ctx: BuildContext): Task {
  const endpoint = endpointOf(ctx);
  const stringParam = (name: string, description: string, def?: string) => ({
    name,
    type: "string" as const,
    description,
    ...(def === undefined ? {} : { default: def }),
  });
  return {
    apiVersion: "tekton.dev/v1",
    kind: "Task",
    metadata: {
      name: STATUS_TASK_NAME,
      namespace: app.namespace,
      labels: appLabels(app),
      ...(endpoint.insecure ? { annotations: { [INSECURE_GITLAB_ANNOTATION]: "true" } } : {}),
    },
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
      steps: [
        {
          name: "post-status",
          image: ctx.images.curl,
          env: [
            env("HOME", "/tekton/home"),
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
          ],
          // Nothing privileged; the curl image's own user is replaced by nobody, like the git steps.
          securityContext: nonRootSecurityContext,
          // A second guard: whatever the script does, the TaskRun succeeds (pipeline v1.15.0
          // pkg/apis/pipeline/v1/container_types.go `OnError` "continue": the step's non-zero
          // exit is recorded, the task goes on and succeeds).
          onError: "continue",
          script: statusScript(endpoint.insecure),
        },
      ],
    },
  };
}

/** The Pipeline workspaces the status tasks need (bound in the TriggerTemplate's run). */
export function statusWorkspaces(app: AppConfig, ctx: Pick<BuildContext, "gitlab">): string[] {
  if (!app.statusReporting.enabled) return [];
  return [
    WORKSPACES.statusToken,
    ...(ctx.gitlab?.caCert === undefined ? [] : [WORKSPACES.gitlabCa]),
  ];
}

/** GitLab's limit (gitlabhq app/models/generic_commit_status.rb `validates :target_url`). */
export const TARGET_URL_MAX_LENGTH = 255;

/**
 * The run's page on the Tekton Dashboard, when its URL is known; none when the link could be
 * longer than GitLab takes (a longer `target_url` makes GitLab refuse the whole status, 400).
 * The run's name is the TriggerTemplate's generateName `build-<app>-` plus 5 characters, the
 * prefix cut to 58 (k8s.io/apiserver pkg/storage/names/generate.go `GenerateName`).
 */
export function statusTargetUrl(app: AppConfig, ctx: Pick<BuildContext, "dashboardUrl">): string {
  if (ctx.dashboardUrl === undefined) return "";
  const runName = "$(context.pipelineRun.name)";
  const url = `${ctx.dashboardUrl.replace(/\/+$/, "")}/#/namespaces/${app.namespace}/pipelineruns/${runName}`;
  const longestRunName = Math.min(`${pipelineName(app)}-`.length, 58) + 5;
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
    { name: STATUS_PARAMS.name, value: status.context },
    { name: STATUS_PARAMS.targetUrl, value: statusTargetUrl(app, ctx) },
  ];
  const base = {
    taskRef: { name: STATUS_TASK_NAME, kind: "Task" as const },
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

/** Seconds of a Go duration as the config accepts it (`1h30m`, `45m`, `90s`). */
export function durationSeconds(duration: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!match) throw new Error(`not a duration: ${duration}`);
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

/**
 * The PipelineRun's `timeouts`: `pipeline` alone without status reporting; with it, `tasks` and
 * `finally` too, so a run that runs out of time still reports (STATUS_FINALLY_BUDGET_SECONDS,
 * at most a quarter of the whole; their sum is the whole, as pipeline v1.15.0
 * pkg/apis/pipeline/v1/pipelinerun_validation.go `validatePipelineTimeout` requires).
 */
export function runTimeouts(
  app: AppConfig,
): { pipeline: string } | { pipeline: string; tasks: string; finally: string } {
  const pipeline = app.pipelineRun.timeout;
  if (!app.statusReporting.enabled) return { pipeline };
  const total = durationSeconds(pipeline);
  // Too short to share (`timeouts.tasks: 0s` would mean "no timeout"): leave it whole.
  if (total < 60) return { pipeline };
  const finallySeconds = Math.max(
    1,
    Math.min(STATUS_FINALLY_BUDGET_SECONDS, Math.floor(total / 4)),
  );
  return { pipeline, tasks: `${total - finallySeconds}s`, finally: `${finallySeconds}s` };
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
