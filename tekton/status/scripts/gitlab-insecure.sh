# Sourced only when gitlab:insecure is true: curl then skips verifying GitLab's certificate.
# Other stacks' steps leave the line out (tekton/status/statusTasks.ts, POST_STATUS_SCRIPTS).
# shellcheck shell=sh
# gitlab:insecure: true (the Task is annotated so).
set -- "$@" --insecure
