#!/bin/sh
set -eu

. "$(dirname "$0")/check-revision.sh"
case "$SOURCE_URL" in
  "" | -*) echo "source-url must be a git URL, got: '$SOURCE_URL'" >&2; exit 1 ;;
esac
case "$SOURCE_BRANCH" in
  "" | -*) BRANCH_OK=no ;;
  *) if git check-ref-format --branch "$SOURCE_BRANCH" >/dev/null 2>&1; then BRANCH_OK=yes; else BRANCH_OK=no; fi ;;
esac
if [ "$BRANCH_OK" != yes ]; then
  echo "source-branch must be a git branch name, got: '$SOURCE_BRANCH'" >&2
  exit 1
fi

. "$(dirname "$0")/require-git-pull-key.sh"
. "$(dirname "$0")/git-ssh.sh"

. "$(dirname "$0")/init-checkout.sh"
# The commit with its whole history and the branch's tip: patch-deployment decides by ancestry
# whether this commit is newer than the deployed one, in this checkout, without a key.
FETCH_ERRORS="$(mktemp)"
if ! git fetch --quiet origin "$REVISION" "+refs/heads/$SOURCE_BRANCH:refs/tekton-gitlab/branch-tip" 2>"$FETCH_ERRORS"; then
  cat "$FETCH_ERRORS" >&2
  if ! grep -qE 'not our ref|does not allow request for unadvertised object' "$FETCH_ERRORS"; then
    echo "fetching commit $REVISION and branch $SOURCE_BRANCH from $SOURCE_URL failed; git said why above" >&2
    exit 1
  fi
  echo "the server refused a fetch by commit id; fetching its branches instead" >&2
  git fetch --quiet origin '+refs/heads/*:refs/remotes/origin/*'
  git update-ref "refs/tekton-gitlab/branch-tip" "refs/remotes/origin/$SOURCE_BRANCH"
  if ! git cat-file -e "$REVISION^{commit}" 2>/dev/null; then
    echo "commit $REVISION is on no branch of $SOURCE_URL (force-pushed away?)" >&2
    exit 1
  fi
fi
rm -f "$FETCH_ERRORS"
git checkout --quiet --detach "$REVISION"

# <committer date, UTC>-<full commit id>-<run>: every build of a commit names the same commit
# and date, so a re-run never looks newer; the date only orders commits that history cannot (see
# patch-deployment), never the time a run happened to start. <run>, the first 8 hex digits of
# the TaskRun's UID, keeps a rebuild of the commit from moving a tag off the deployed digest (a
# registry may garbage-collect untagged manifests); it orders nothing.
RUN_ID="${RUN_UID%%-*}"
case "$RUN_ID" in
  "" | *[!0-9a-f]*) RUN_ID="" ;;
esac
if [ "${#RUN_ID}" -ne 8 ]; then
  echo "the TaskRun's UID must be a UUID, got: '$RUN_UID'" >&2
  exit 1
fi
COMMIT="$(git rev-parse HEAD)"
COMMIT_DATE="$(TZ=UTC git show -s --format=%cd --date=format-local:%Y%m%d%H%M%S HEAD)"
TAG="$COMMIT_DATE-$COMMIT-$RUN_ID"
printf '%s' "$REGISTRY_HOST/$IMAGE_REPOSITORY:$TAG" > "$(results.image-url.path)"
printf '%s' "$COMMIT" > "$(results.commit-sha.path)"
echo "commit $COMMIT will be pushed as $REGISTRY_HOST/$IMAGE_REPOSITORY:$TAG"
