# An empty repository at $CHECKOUT, in $OBJECT_FORMAT (check-revision.sh), whose remote origin
# is $SOURCE_URL; the step stays in it.
# shellcheck disable=SC2164 # the scripts sourcing it run with set -e: a failed cd ends them
# shellcheck shell=sh
rm -rf "$CHECKOUT"
mkdir -p "$CHECKOUT"
cd "$CHECKOUT"
git config --global --add safe.directory "$CHECKOUT"
# --object-format needs git 2.29 or later; a SHA-1 checkout works without it on any git.
if [ "$OBJECT_FORMAT" = sha256 ]; then
  git init --quiet --object-format=sha256
else
  git init --quiet
fi
git remote add origin "$SOURCE_URL"
