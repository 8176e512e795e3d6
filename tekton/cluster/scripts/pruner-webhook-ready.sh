#!/usr/bin/env bash
set -u
attempts="${GATE_ATTEMPTS:?}"
interval="${GATE_INTERVAL_SECONDS:?}"
last=""
for ((attempt = 1; attempt <= attempts; attempt++)); do
  if output=$(printf '%s' "${PROBE:?}" | kubectl create --dry-run=server \
    --request-timeout="${GATE_REQUEST_TIMEOUT:?}" --namespace="${GATE_NAMESPACE:?}" \
    --output=name --filename=- 2>&1); then
    last="admitted without the pruner's webhook: its configuration is not in effect yet"
  elif [[ "$output" == *"${PROBE_REFUSAL:?}"* ]]; then
    echo "The Tekton Pruner's webhook answers (attempt $attempt of $attempts)."
    exit 0
  else
    last="$output"
  fi
  echo "attempt $attempt of $attempts: the pruner's webhook does not answer yet: $last"
  if ((attempt < attempts)); then sleep "$interval"; fi
done
echo "The Tekton Pruner's webhook did not answer a server-side dry-run after $attempts attempts $interval s apart. Last answer: $last. Check kubectl -n $GATE_NAMESPACE get pods,endpoints; kubectl -n $GATE_NAMESPACE logs deploy/tekton-pruner-webhook."
exit 1
