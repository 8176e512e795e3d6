#!/bin/sh
set -eu

. "$(dirname "$0")/../../build/scripts/check-revision.sh"
# Only a merge request number may name the ref fetched.
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

. "$(dirname "$0")/../../build/scripts/require-git-pull-key.sh"
. "$(dirname "$0")/../../build/scripts/git-ssh.sh"

. "$(dirname "$0")/../../build/scripts/init-checkout.sh"
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
