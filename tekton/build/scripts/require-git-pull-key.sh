# Fails unless the git-pull Secret's key and known_hosts are mounted at $SSH_KEY and
# $KNOWN_HOSTS (git-ssh.sh hands them to git next).
# shellcheck shell=sh
for file in "$SSH_KEY" "$KNOWN_HOSTS"; do
  if [ ! -s "$file" ]; then
    echo "missing $file: bind Secret git-pull (keys ssh-privatekey and known_hosts) to this task's workspace" >&2
    exit 1
  fi
done
