#!/bin/sh
set -eu
. "$(dirname "$0")/write-key.sh"

case "$COMMIT_SHA" in
  "" | *[!0-9a-f]*) echo "commit-sha must be a hex commit id, got: '$COMMIT_SHA'" >&2; exit 1 ;;
esac
IMAGE_REPO="${IMAGE_URL%:*}"
BUILD_TAG="${IMAGE_URL##*:}"
BUILD_DATE="${BUILD_TAG%%-*}"
case "$BUILD_DATE" in
  "" | *[!0-9]*) BUILD_DATE="" ;;
esac
BUILD_RUN="${BUILD_TAG##*-}"
case "$BUILD_RUN" in
  "" | *[!0-9a-f]*) BUILD_RUN="" ;;
esac
if [ "${#BUILD_DATE}" -ne 14 ] || [ "${#BUILD_RUN}" -ne 8 ] || [ "$BUILD_TAG" != "$BUILD_DATE-$COMMIT_SHA-$BUILD_RUN" ]; then
  echo "image-url must end in :<committer date YYYYMMDDHHMMSS>-<commit-sha>-<run> as generate-image-tag names it, got: '$IMAGE_URL' for commit '$COMMIT_SHA'" >&2
  exit 1
fi
NEW_IMAGE="$IMAGE_URL@$IMAGE_DIGEST"

git config --global --add safe.directory "$CHECKOUT"
git config --global --add safe.directory "$SOURCE"
# The source checkout is read only here and holds every object this decision needs: no key,
# no network.
src() { git -C "$SOURCE" "$@"; }
if ! src cat-file -e "$COMMIT_SHA^{commit}" 2>/dev/null || ! src rev-parse --verify --quiet "refs/tekton-gitlab/branch-tip" >/dev/null; then
  echo "$SOURCE does not hold commit $COMMIT_SHA and refs/tekton-gitlab/branch-tip as generate-image-tag leaves them" >&2
  exit 1
fi

# "<date> <commit> <reference>" of every $IMAGE_REPO build with a commit id the YAML on stdin names.
deployed_builds() {
  grep -oE "[^[:space:]\"'=]+:[0-9]{14}-([0-9a-f]{64}|[0-9a-f]{40})(-[0-9a-f]{8})?(@sha256:[0-9a-f]{64})?" |
    while IFS= read -r ref; do
      tag="${ref#"$IMAGE_REPO:"}"
      if [ "$tag" != "$ref" ]; then
        tag="${tag%@*}"
        commit="${tag#*-}"
        printf '%s %s %s\n' "${tag%%-*}" "${commit%%-*}" "$ref"
      fi
    done | sort -u
}

on_fetched_tip() { src merge-base --is-ancestor "$COMMIT_SHA" "refs/tekton-gitlab/branch-tip"; }

# Sets VERDICT to same, deploy or leave for the deployed build of commit $2, committed at $1.
judge() {
  if [ "$2" = "$COMMIT_SHA" ]; then
    VERDICT=same
  elif src cat-file -e "$2^{commit}" 2>/dev/null; then
    if src merge-base --is-ancestor "$2" "$COMMIT_SHA"; then
      VERDICT=deploy
    elif src merge-base --is-ancestor "$COMMIT_SHA" "$2"; then
      echo "$DEPLOYMENT_FILE on $BRANCH deploys commit $2, which descends from $COMMIT_SHA: a newer commit is deployed, leaving it in place"
      VERDICT=leave
    elif on_fetched_tip; then
      echo "$DEPLOYMENT_FILE on $BRANCH deploys commit $2, which is not in the history of $COMMIT_SHA (a force push?); $COMMIT_SHA is on the branch tip, replacing it"
      VERDICT=deploy
    else
      echo "$DEPLOYMENT_FILE on $BRANCH deploys commit $2; $COMMIT_SHA is neither its ancestor nor its descendant and no longer on the branch tip (rewritten by a force push?), leaving it in place"
      VERDICT=leave
    fi
  elif on_fetched_tip && [ "$1" -lt "$BUILD_DATE" ]; then
    echo "$DEPLOYMENT_FILE on $BRANCH deploys commit $2, which is not in the history of $COMMIT_SHA nor on the branch as fetched (dropped by a force push?) and was committed earlier ($1 < $BUILD_DATE); replacing it"
    VERDICT=deploy
  else
    echo "$DEPLOYMENT_FILE on $BRANCH deploys commit $2, committed at $1, which is not in the history of $COMMIT_SHA (committed at $BUILD_DATE): most likely pushed after this build fetched; leaving it in place"
    VERDICT=leave
  fi
}

# Sets DECISION to same, deploy or leave for the YAML file $1: leave when any deployed build
# stays, same when every one is this commit, deploy otherwise.
decide() {
  BUILDS="$(mktemp)"
  deployed_builds < "$1" > "$BUILDS"
  DECISION=deploy
  if [ -s "$BUILDS" ]; then
    DECISION=same
    while read -r date commit _; do
      judge "$date" "$commit"
      case "$VERDICT" in
        leave) DECISION=leave ;;
        deploy) if [ "$DECISION" = same ]; then DECISION=deploy; fi ;;
      esac
    done < "$BUILDS"
  fi
  rm -f "$BUILDS"
  if [ "$DECISION" = same ]; then
    echo "$DEPLOYMENT_FILE on $BRANCH already deploys commit $COMMIT_SHA; nothing to do"
  fi
}

# Copies stdin to stdout with every occurrence of the text $1 replaced by the text $2.
replace_text() {
  while IFS= read -r line || [ -n "$line" ]; do
    out=""
    while :; do
      case "$line" in
        *"$1"*) out="$out${line%%"$1"*}$2"; line="${line#*"$1"}" ;;
        *) break ;;
      esac
    done
    printf '%s\n' "$out$line"
  done
}

cd "$CHECKOUT"
BRANCH="$(git symbolic-ref --short HEAD)"
decide "$DEPLOYMENT_FILE"
if [ "$DECISION" != deploy ]; then
  exit 0
fi
cat "$PATCHED" > "$DEPLOYMENT_FILE"
if git diff --quiet -- "$DEPLOYMENT_FILE"; then
  echo "$DEPLOYMENT_FILE already names this image; nothing to commit"
  exit 0
fi
git add -- "$DEPLOYMENT_FILE"
git commit --quiet -m "commit $COMMIT_SHA"

REMOTE_FILE="$(mktemp)"
attempt=1
while ! git push --quiet origin "HEAD:refs/heads/$BRANCH"; do
  if [ "$attempt" -ge "$PUSH_ATTEMPTS" ]; then
    echo "push to $BRANCH failed $attempt times; giving up" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  echo "push rejected; deciding again against the new $BRANCH (attempt $attempt of $PUSH_ATTEMPTS)" >&2
  git fetch --quiet origin "$BRANCH"
  git show "FETCH_HEAD:$DEPLOYMENT_FILE" > "$REMOTE_FILE" 2>/dev/null || : > "$REMOTE_FILE"
  decide "$REMOTE_FILE"
  if [ "$DECISION" != deploy ]; then
    exit 0
  fi
  if ! git rebase --quiet FETCH_HEAD; then
    git rebase --abort
    OLD_BUILDS="$(mktemp)"
    deployed_builds < "$REMOTE_FILE" | cut -d ' ' -f 3 > "$OLD_BUILDS"
    if [ ! -s "$OLD_BUILDS" ]; then
      echo "a concurrent change to $DEPLOYMENT_FILE conflicts with this one; not retrying" >&2
      exit 1
    fi
    echo "$BRANCH now deploys an older build of $IMAGE_REPO; putting this one in its place" >&2
    git reset --quiet --hard FETCH_HEAD
    while IFS= read -r old; do
      replace_text "$old" "$NEW_IMAGE" < "$DEPLOYMENT_FILE" > "$REMOTE_FILE"
      cat "$REMOTE_FILE" > "$DEPLOYMENT_FILE"
    done < "$OLD_BUILDS"
    rm -f "$OLD_BUILDS"
    if git diff --quiet -- "$DEPLOYMENT_FILE"; then
      echo "$DEPLOYMENT_FILE on $BRANCH already names this image; nothing to push"
      exit 0
    fi
    git add -- "$DEPLOYMENT_FILE"
    git commit --quiet -m "commit $COMMIT_SHA"
  fi
  sleep "$attempt"
done
rm -f "$REMOTE_FILE"
echo "pushed $(git rev-parse HEAD) to $BRANCH"
