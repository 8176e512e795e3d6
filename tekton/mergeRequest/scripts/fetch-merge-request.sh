#!/bin/sh
set -eu

# Only a full commit id and a merge request number may reach git: anything else could be read
# as an option or a moving ref.
case "$REVISION" in
  "" | *[!0-9a-f]*) echo "revision must be a full hex commit SHA, got: '$REVISION'" >&2; exit 1 ;;
esac
case "${#REVISION}" in
  40) OBJECT_FORMAT=sha1 ;;
  64) OBJECT_FORMAT=sha256 ;;
  *)
    echo "revision must be a full 40- or 64-character commit SHA, got: '$REVISION'" >&2
    exit 1
    ;;
esac
case "$MERGE_REQUEST_IID" in
  "" | 0* | *[!0-9]*) echo "merge-request-iid must be a merge request number, got: '$MERGE_REQUEST_IID'" >&2; exit 1 ;;
esac
case "$SOURCE_URL" in
  "" | -*) echo "source-url must be a git URL, got: '$SOURCE_URL'" >&2; exit 1 ;;
esac
case "$PUSH" in
  true | false) ;;
  *) echo "push must be true or false, got: '$PUSH'" >&2; exit 1 ;;
esac

for file in "$SSH_KEY" "$KNOWN_HOSTS"; do
  if [ ! -s "$file" ]; then
    echo "missing $file: bind Secret git-pull (keys ssh-privatekey and known_hosts) to this task's workspace" >&2
    exit 1
  fi
done
. "$(dirname "$0")/../../build/scripts/git-ssh.sh"

rm -rf "$CHECKOUT"
mkdir -p "$CHECKOUT"
cd "$CHECKOUT"
git config --global --add safe.directory "$CHECKOUT"
if [ "$OBJECT_FORMAT" = sha256 ]; then
  git init --quiet --object-format=sha256
else
  git init --quiet
fi
git remote add origin "$SOURCE_URL"
# GitLab keeps refs/merge-requests/<iid>/head at the merge request's head for every merge
# request, a fork's too (it fetches the fork's branch into the target project). Only the commit
# on that ref, or one of its ancestors, is built: never a commit the ref does not lead to.
MR_REF="refs/merge-requests/$MERGE_REQUEST_IID/head"
if ! git fetch --quiet origin "+$MR_REF:refs/tekton-gitlab/merge-request"; then
  echo "fetching $MR_REF from $SOURCE_URL failed; git said why above (is merge request !$MERGE_REQUEST_IID in this project?)" >&2
  exit 1
fi
if ! git cat-file -e "$REVISION^{commit}" 2>/dev/null ||
  ! git merge-base --is-ancestor "$REVISION" refs/tekton-gitlab/merge-request; then
  echo "commit $REVISION is not reachable from $MR_REF (now at $(git rev-parse refs/tekton-gitlab/merge-request)): the merge request was force-pushed since; a newer build covers its head" >&2
  exit 1
fi
git checkout --quiet --detach "$REVISION"

COMMIT="$(git rev-parse HEAD)"
# mr-<iid>-<first 12 hex of the commit>: never the <date>-<commit>-<run> form of a deploy tag,
# so no merge request image can be mistaken for (or replace) a deployed one.
TAG="mr-$MERGE_REQUEST_IID-$(printf '%.12s' "$COMMIT")"
printf '%s' "$REGISTRY_HOST/$IMAGE_REPOSITORY:$TAG" > "$(results.image-url.path)"
printf '%s' "$COMMIT" > "$(results.commit-sha.path)"
if [ "$PUSH" = true ]; then
  echo "merge request !$MERGE_REQUEST_IID: commit $COMMIT will be pushed as $REGISTRY_HOST/$IMAGE_REPOSITORY:$TAG"
else
  echo "merge request !$MERGE_REQUEST_IID: commit $COMMIT will be built, not pushed"
fi
