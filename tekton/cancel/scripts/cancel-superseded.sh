#!/bin/bash
# No set -e: every failure ends in a warning and exit 0, never in a failed build.
set -u -o pipefail
warn() {
  echo "warning: $*; older runs keep running (if any), this build goes on" >&2
  exit 0
}
FILTER="$(cat <<'JQ'
def finished: any((.status.conditions // [])[]; .type == "Succeeded" and (.status == "True" or .status == "False"));
def branch: (.metadata.annotations // {})[$branchKey];
(.items // []) as $runs
| ([$runs[] | select(.metadata.name == $self)] | first) as $me
| if $me == null then
    error("this run (\($self)) is not among them (started by hand, not by a push?): it cancels nothing")
  elif ($me | branch | type) != "string" or ($me.metadata.creationTimestamp | type) != "string" then
    error("this run carries no \($branchKey) annotation or creationTimestamp: it cancels nothing")
  else
    $runs[]
    | select(.metadata.name != $self)
    | select(branch == ($me | branch))
    | select((.spec.status // "") == "")
    | select(finished | not)
    | select((.metadata.creationTimestamp | type) == "string")
    | select(.metadata.creationTimestamp < $me.metadata.creationTimestamp)
    | .metadata.name
  end
JQ
)"
if ! RUNS="$(kubectl get pipelineruns.tekton.dev --namespace "$NAMESPACE" --selector "$SELECTOR" --request-timeout 30s --output json)"; then
  warn "could not list the PipelineRuns of $SELECTOR in $NAMESPACE"
fi
if ! SUPERSEDED="$(jq -r --arg self "$PIPELINE_RUN" --arg branchKey "tekton-gitlab.io/branch" "$FILTER" <<<"$RUNS" 2>&1)"; then
  warn "$SUPERSEDED"
fi
if [ -z "$SUPERSEDED" ]; then
  echo "no older run of this branch is running"
  exit 0
fi
PATCH='{"spec":{"status":"CancelledRunFinally"}}'
while IFS= read -r run; do
  case "$run" in
    "" | [!a-z0-9]* | *[!a-z0-9.-]*) echo "warning: not a PipelineRun name, skipped: '$run'" >&2; continue ;;
  esac
  if kubectl patch pipelineruns.tekton.dev "$run" --namespace "$NAMESPACE" --type merge --patch "$PATCH" --request-timeout 30s >/dev/null; then
    echo "cancelled $run (CancelledRunFinally: its finally tasks still run), superseded by $PIPELINE_RUN"
  else
    echo "warning: could not cancel $run; it keeps running, this build goes on" >&2
  fi
done <<<"$SUPERSEDED"
exit 0
