#!/usr/bin/env bash
set -u
attempts="${GATE_ATTEMPTS:?}"
interval="${GATE_INTERVAL_SECONDS:?}"
# probe MANIFEST JSONPATH EXPECTED: the dry-run must succeed and show the defaulted field.
# Only stdout is compared: kubectl prints the API server's warnings on stderr.
probe() {
  local output errors
  errors="$(mktemp)"
  if ! output=$(printf '%s' "$1" | kubectl create --dry-run=server \
    --request-timeout="${GATE_REQUEST_TIMEOUT:?}" --namespace="${GATE_NAMESPACE:?}" \
    --output=jsonpath="$2" --filename=- 2>"$errors"); then
    cat "$errors"
    rm -f "$errors"
    return 1
  fi
  rm -f "$errors"
  if [ "$output" != "$3" ]; then
    printf 'admitted without the defaulting webhook (%s is "%s", expected "%s"): its configuration is not filled in yet' "$2" "$output" "$3"
    return 1
  fi
}
last=""
for ((attempt = 1; attempt <= attempts; attempt++)); do
  if output=$(probe "${PROBE_TASK:?}" "${PROBE_TASK_PATH:?}" "${PROBE_TASK_VALUE:?}"); then
    if output=$(probe "${PROBE_LISTENER:?}" "${PROBE_LISTENER_PATH:?}" "${PROBE_LISTENER_VALUE:?}"); then
      echo "Tekton's admission webhooks admit Tasks and EventListeners (attempt $attempt of $attempts)."
      exit 0
    fi
    last="EventListener (Tekton Triggers' webhook): $output"
  else
    last="Task (Tekton Pipelines' webhook): $output"
  fi
  echo "attempt $attempt of $attempts: not admitted yet: $last"
  if ((attempt < attempts)); then sleep "$interval"; fi
done
echo "Tekton's admission webhooks did not admit a server-side dry-run after $attempts attempts $interval s apart. Last refusal: $last. Check the webhook pods and their Service endpoints: kubectl -n $GATE_NAMESPACE get pods,endpoints; kubectl -n $GATE_NAMESPACE logs deploy/tekton-pipelines-webhook (or tekton-triggers-webhook)."
exit 1
