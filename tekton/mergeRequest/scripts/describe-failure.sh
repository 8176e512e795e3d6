#!/bin/bash
# Names the failed task, its failed step and that step's exit code (or reason) for the status
# step beside it, read from this run's TaskRuns through the API. Never fails the report: without
# an answer, the status says which task failed, as a push build's does.
set -u -o pipefail
rm -f "$FAILURE_DETAIL_FILE"
if [ "$REPORT" != result ]; then exit 0; fi
FILTER="$(cat <<'JQ'
def failed: any((.status.conditions // [])[]; .type == "Succeeded" and .status == "False");
def task: (.metadata.labels // {})["tekton.dev/pipelineTask"] // "";
def condition: ((.status.conditions // []) | map(select(.type == "Succeeded")) | first) // {};
[(.items // [])[]
  | select(failed)
  | select(task as $t | $buildTasks | index($t) != null)
  | select(condition.reason != "TaskRunCancelled")]
| sort_by(.status.completionTime // "")
| first
| if . == null then empty else
    task as $task
    | ([(.status.steps // [])[]
        | select(.terminated != null)
        | select((.terminated.exitCode // 0) != 0 or (.terminationReason // "") == "TimeoutExceeded")]
       | first) as $step
    | if $step != null then
        "Failed in \($task), step \($step.name): "
        + (if ($step.terminationReason // "") == "TimeoutExceeded" then "timed out"
           elif ($step.terminationReason // "") == "TaskRunTimeout" then "the task timed out"
           else "exit code \($step.terminated.exitCode)"
             + (if ($step.terminated.reason // "") != "" and $step.terminated.reason != "Error"
                then " (\($step.terminated.reason))" else "" end) end)
      else
        "Failed in \($task): \(condition.reason // "Failed")"
        + (if (condition.message // "") != "" then ": \(condition.message | gsub("[\r\n]+"; " "))" else "" end)
      end
  end
JQ
)"
if ! RUNS="$(kubectl get taskruns.tekton.dev --namespace "$NAMESPACE" --selector "tekton.dev/pipelineRun=$PIPELINE_RUN" --request-timeout 20s --output json)"; then
  echo "warning: could not read the TaskRuns of $PIPELINE_RUN; the status names the failed task only" >&2
  exit 0
fi
# shellcheck disable=SC2086 # BUILD_TASKS is a list of pipeline task names, one word each
if ! DETAIL="$(jq -r --argjson buildTasks "$(printf '%s\n' $BUILD_TASKS | jq -R . | jq -s .)" "$FILTER" <<<"$RUNS" 2>&1)"; then
  echo "warning: could not read the TaskRuns' status ($DETAIL); the status names the failed task only" >&2
  exit 0
fi
if [ -n "$DETAIL" ]; then
  printf '%s\n' "$DETAIL" > "$FAILURE_DETAIL_FILE"
  echo "$DETAIL"
else
  echo "no build task of $PIPELINE_RUN failed"
fi
