# Refuses anything but a full commit id in $REVISION and sets OBJECT_FORMAT (sha1 or sha256)
# for init-checkout.sh. Sourced by the scripts that fetch a commit by id.
# shellcheck disable=SC2034 # OBJECT_FORMAT is read by init-checkout.sh, sourced after it
# shellcheck shell=sh
# Only a full commit id may reach git: anything else could be read as an option or a moving ref.
case "$REVISION" in
  "" | *[!0-9a-f]*) echo "revision must be a full hex commit SHA, got: '$REVISION'" >&2; exit 1 ;;
esac
# A 64-character id names a commit of a SHA-256 repository: a SHA-1 repository cannot fetch it
# ("mismatched algorithms"), so the checkout is created with the server's object format.
case "${#REVISION}" in
  40) OBJECT_FORMAT=sha1 ;;
  64) OBJECT_FORMAT=sha256 ;;
  *)
    echo "revision must be a full 40- or 64-character commit SHA, got: '$REVISION'" >&2
    exit 1
    ;;
esac
