#!/bin/sh
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
  echo "build tasks: $(printf '%s' "$TASK_STATES" | tr '\n' ';'); aggregate status: $AGGREGATE_STATUS"
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

. "$(dirname "$0")/describe-result.sh"
if [ ! -s "$TOKEN_FILE" ]; then
  warn "no token at $TOKEN_FILE: the Secret bound to workspace gitlab-status-token needs key token"
fi
HEADERS="$(mktemp)" || warn "cannot create a temporary file"
BODY="$(mktemp)" || warn "cannot create a temporary file"
ERRORS="$(mktemp)" || warn "cannot create a temporary file"
trap 'rm -f "$HEADERS" "$BODY" "$ERRORS"' EXIT
token="$(tr -d ' \t\r\n' < "$TOKEN_FILE")"
printf 'PRIVATE-TOKEN: %s\n' "$token" > "$HEADERS"
token=""

set --
if [ -n "$CA_FILE" ]; then
  if [ ! -s "$CA_FILE" ]; then warn "no CA at $CA_FILE (ConfigMap gitlab-ca, key ca.crt)"; fi
  set -- "$@" --cacert "$CA_FILE"
fi
. "$(dirname "$0")/gitlab-insecure.sh"
if [ -n "$TARGET_URL" ]; then set -- "$@" --data-urlencode "target_url=$TARGET_URL"; fi

URL="$GITLAB_API_URL/projects/$PROJECT_ID/statuses/$REVISION"
attempt=1
while :; do
  code="$(curl --silent --show-error --output "$BODY" --write-out '%{http_code}' \
    --connect-timeout "$CONNECT_TIMEOUT" --max-time "$MAX_TIME" \
    --header "@$HEADERS" \
    --data-urlencode "state=$STATE" \
    --data-urlencode "ref=$REF" \
    --data-urlencode "name=$STATUS_NAME" \
    --data-urlencode "description=$DESCRIPTION" \
    "$@" "$URL" 2>"$ERRORS")"
  rc=$?
  case "$rc:$code" in
    0:2??)
      echo "GitLab shows $STATUS_NAME: $STATE on $SHORT_SHA ($DESCRIPTION)"
      exit 0
      ;;
  esac
  answer="$(head -c 300 "$BODY" | tr -d '\r\n')"
  if [ "$rc" -eq 0 ] && [ "$code" = 400 ] && grep -q 'Cannot transition status' "$BODY"; then
    echo "GitLab already shows $STATUS_NAME: $STATE on $SHORT_SHA ($answer)"
    exit 0
  fi
  retry=no
  if [ "$rc" -ne 0 ]; then
    problem="no answer from $GITLAB_API_URL (curl exit $rc: $(head -c 300 "$ERRORS" | tr -d '\r\n'))"
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
