#!/bin/sh
set -eu
printf '%s' "$IMAGE_URL" > "$(results.IMAGE_URL.path)"
