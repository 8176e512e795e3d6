# The words of a build that describes its own result (a merge request's, tekton/mergeRequest):
# SUCCESS_DESCRIPTION for a success, and for a failure the failed task, step and exit code that
# the describe-failure step left in FAILURE_DETAIL_FILE (read from the TaskRuns' status).
# GitLab's commit status list shows a short line: at most DESCRIPTION_MAX_LENGTH characters of
# printable ASCII.
# shellcheck shell=sh
if [ "$STATE" = success ] && [ -n "$SUCCESS_DESCRIPTION" ]; then
  DESCRIPTION="$SUCCESS_DESCRIPTION ($SHORT_SHA)"
fi
if [ "$STATE" = failed ] && [ -s "$FAILURE_DETAIL_FILE" ]; then
  DESCRIPTION="$(head -c 1000 "$FAILURE_DETAIL_FILE" | tr -d '\r\n')"
fi
# Printable ASCII only, then cut: `cut -c` counts bytes (busybox's, and coreutils' in the C
# locale), so a cut through a multibyte character would not be UTF-8 any more.
DESCRIPTION="$(printf '%s' "$DESCRIPTION" | tr -cd ' -~' | cut -c "1-$DESCRIPTION_MAX_LENGTH")"
