# Gives git exactly one key: the ssh-auth Secret a workspace mounts at $SSH_KEY, with its pinned
# $KNOWN_HOSTS. The Secret volume's files may be shared with other UIDs or read-only with modes
# ssh rejects for a private key, so the key is copied to a private file first. `-F none` keeps
# ssh away from any ssh config (the image's or one left in $HOME); host keys are pinned, never
# trusted on first use. Sourced after the script has checked both files exist.
# shellcheck shell=sh
KEY_FILE="$(mktemp)"
trap 'rm -f "$KEY_FILE"' EXIT
cat "$SSH_KEY" > "$KEY_FILE"
chmod 600 "$KEY_FILE"
export GIT_SSH_COMMAND="ssh -F none -i $KEY_FILE -o IdentitiesOnly=yes -o UserKnownHostsFile=$KNOWN_HOSTS -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes"
