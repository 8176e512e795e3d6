#!/bin/sh
set -eu
case "$OPERATIONS_URL" in
  "" | -*) echo "operations-url must be a git URL, got: '$OPERATIONS_URL'" >&2; exit 1 ;;
esac
if [ -n "$OPERATIONS_BRANCH" ]; then
case "$OPERATIONS_BRANCH" in
  "" | -*) BRANCH_OK=no ;;
  *) if git check-ref-format --branch "$OPERATIONS_BRANCH" >/dev/null 2>&1; then BRANCH_OK=yes; else BRANCH_OK=no; fi ;;
esac
if [ "$BRANCH_OK" != yes ]; then
  echo "operations-branch must be a git branch name or empty, got: '$OPERATIONS_BRANCH'" >&2
  exit 1
fi
fi
. "$(dirname "$0")/write-key.sh"

rm -rf "$CHECKOUT" "$PATCHED"
git config --global --add safe.directory "$CHECKOUT"
# The branch commit-and-push commits to and pushes is the one checked out here.
if [ -n "$OPERATIONS_BRANCH" ]; then
  if ! git clone --quiet --branch "$OPERATIONS_BRANCH" -- "$OPERATIONS_URL" "$CHECKOUT"; then
    echo "cloning branch '$OPERATIONS_BRANCH' of $OPERATIONS_URL failed (does the branch exist?)" >&2
    exit 1
  fi
else
  git clone --quiet -- "$OPERATIONS_URL" "$CHECKOUT"
fi
if [ ! -f "$CHECKOUT/$DEPLOYMENT_FILE" ]; then
  echo "deployment-file '$DEPLOYMENT_FILE' does not exist in $OPERATIONS_URL" >&2
  exit 1
fi
