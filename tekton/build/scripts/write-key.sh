# The write deploy key for git (Secret git-write, bound to the task's git-write-ssh workspace):
# both files must be there before git-ssh.sh hands the key to ssh.
# shellcheck shell=sh
for file in "$SSH_KEY" "$KNOWN_HOSTS"; do
  if [ ! -s "$file" ]; then
    echo "missing $file: bind Secret git-write (keys ssh-privatekey and known_hosts) to this task's workspace" >&2
    exit 1
  fi
done
. "$(dirname "$0")/git-ssh.sh"
