#!/bin/bash
set -euo pipefail

# Only a digest pins what was pushed; the value also ends up in kubectl's arguments.
if [[ ! "$IMAGE_DIGEST" =~ ^sha256:[0-9a-f]{64}$ ]]; then
  echo "image-digest must be sha256:<64 lowercase hex digits>, got: '$IMAGE_DIGEST'" >&2
  exit 1
fi
# A container name is a DNS label; one starting with '-' would be read as a kubectl flag.
if [[ ! "$CONTAINER_NAME" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || [ "${#CONTAINER_NAME}" -gt 63 ]; then
  echo "container-name must be a DNS label (a-z, 0-9, '-', at most 63 characters), got: '$CONTAINER_NAME'" >&2
  exit 1
fi

# The file as pieces: documents and the separator lines between them, byte for byte (a last
# line without a newline stays without one).
pieces=()
is_document=()
current=""
while :; do
  if IFS= read -r line; then
    eol=$'\n'
  elif [ -n "$line" ]; then
    eol=""
  else
    break
  fi
  if [[ "$line" =~ ^---([[:space:]].*)?$ ]]; then
    pieces+=("$current" "$line$eol")
    is_document+=(yes no)
    current=""
  else
    current+="$line$eol"
  fi
  if [ -z "$eol" ]; then break; fi
done < "$CHECKOUT/$DEPLOYMENT_FILE"
pieces+=("$current")
is_document+=(yes)

# kubectl's refusals for a document that is not the one: no pod template, or no such container.
NOT_THIS_ONE='does not have a pod template|unable to find container named'
UNCHANGED_PROBE="tekton-gitlab.invalid/unchanged-probe:0"
ERRORS="$PATCHED.errors"
matches=()
problems=""
for i in "${!pieces[@]}"; do
  if [ "${is_document[$i]}" != yes ]; then continue; fi
  if output="$(kubectl set image --local -f - "$CONTAINER_NAME=$IMAGE_URL@$IMAGE_DIGEST" -o yaml 2>"$ERRORS" <<< "${pieces[$i]}")"; then
    if [ -n "$output" ]; then
      matches+=("$i")
      pieces[$i]="$output"$'\n'
    # kubectl prints nothing both for a document of comments only and for a workload that
    # already names this image (kubernetes/kubectl pkg/cmd/set/set_image.go Run: an empty patch
    # is skipped, --local included). Setting another image tells them apart; the document that
    # already names this one stays byte for byte.
    elif probe="$(kubectl set image --local -f - "$CONTAINER_NAME=$UNCHANGED_PROBE" -o yaml 2>/dev/null <<< "${pieces[$i]}")" && [ -n "$probe" ]; then
      matches+=("$i")
    fi
  else
    errors="$(< "$ERRORS")"
    if [[ ! "$errors" =~ $NOT_THIS_ONE ]]; then
      problems+="document $(( i / 2 + 1 )): $errors"$'\n'
    fi
  fi
done
rm -f "$ERRORS"

if [ "${#matches[@]}" -eq 0 ]; then
  echo "no workload in $DEPLOYMENT_FILE has a container named $CONTAINER_NAME" >&2
  printf '%s' "$problems" >&2
  exit 1
fi
if [ "${#matches[@]}" -gt 1 ]; then
  echo "${#matches[@]} workloads in $DEPLOYMENT_FILE have a container named $CONTAINER_NAME; keep one per file so the pipeline knows which to update" >&2
  exit 1
fi
printf '%s' "${pieces[@]}" > "$PATCHED"
