#!/usr/bin/env bash
# First step of `npm test` and `npm run try`: the real tools the tests and the rehearsal run.
# Found: nothing happens. Missing, as root on Debian: `apt-get update` once, one `apt-get install`
# of their packages, and the user `git`. Missing otherwise: one message naming them and the one
# command that installs them, exit 1, before anything else runs.
#
# What needs what:
# - curl and openssl: the status script against a fake GitLab, also over HTTPS with a CA made at
#   test time (tests/status/status.test.ts, tests/gitlab/faults.test.ts);
# - busybox: the Alpine images' shell (status script, rehearsal);
# - kubectl (Debian's kubernetes-client: kubectl 1.20 in bookworm, a transitional package for
#   trixie's kubectl) and jq: the cancel script against a fake API server
#   (tests/cancel/cancelSuperseded.test.ts), set-image, the rehearsal;
# - sshd (openssh-server, at /usr/sbin/sshd: tests/rehearsal/sshd.ts), ssh, setpriv
#   (util-linux), git, shellcheck: the rehearsal (tests/rehearsal/), where sshd runs as the
#   unprivileged user `git`, the user of every GitLab clone URL.
#
# APT_CACHE_DIR, when set, is where apt-get keeps the .deb files it downloads (CI caches it).
# Only bash builtins before the install: PATH may hold nothing else.
set -euo pipefail

GIT_USER_COMMAND="useradd --system --home-dir /nonexistent --shell /bin/sh git"
SSHD="${PREFLIGHT_SSHD:-/usr/sbin/sshd}"

missing_tools=()
missing_packages=()
missing_user=0

found() {
  if [ "$1" = sshd ]; then
    [ -x "$SSHD" ]
  else
    command -v "$1" >/dev/null 2>&1
  fi
}

has_git_user() {
  if command -v getent >/dev/null 2>&1; then
    getent passwd git >/dev/null 2>&1
    return
  fi
  local name _
  while IFS=: read -r name _; do
    [ "$name" = git ] && return 0
  done </etc/passwd
  return 1
}

check() {
  missing_tools=()
  missing_packages=()
  missing_user=0
  local entry tool package
  # tool:Debian package
  for entry in curl:curl openssl:openssl jq:jq sshd:openssh-server ssh:openssh-client \
    busybox:busybox setpriv:util-linux git:git kubectl:kubernetes-client \
    shellcheck:shellcheck; do
    tool="${entry%%:*}"
    package="${entry#*:}"
    if ! found "$tool"; then
      missing_tools+=("$tool")
      missing_packages+=("$package")
    fi
  done
  has_git_user || missing_user=1
}

# The missing tools (and user), comma-separated, for the one message.
describe() {
  local list=("${missing_tools[@]}")
  [ "$missing_user" = 1 ] && list+=("the user git")
  local out="${list[0]}" item
  for item in "${list[@]:1}"; do out="$out, $item"; done
  printf '%s' "$out"
}

# The one command that installs everything missing.
install_line() {
  local parts=()
  if [ "${#missing_packages[@]}" -gt 0 ]; then
    parts+=("apt-get update && apt-get install -y --no-install-recommends ${missing_packages[*]}")
  fi
  [ "$missing_user" = 1 ] && parts+=("$GIT_USER_COMMAND")
  local line="${parts[0]}"
  [ "${#parts[@]}" -gt 1 ] && line="$line && ${parts[1]}"
  printf '%s' "$line"
}

refuse() {
  # $1: why this process does not install them itself, and what to do.
  {
    printf 'preflight: the tests need %s, missing on this machine. %s\n' "$(describe)" "$1"
    printf '  %s\n' "$(install_line)"
  } >&2
  exit 1
}

check
if [ "${#missing_tools[@]}" -eq 0 ] && [ "$missing_user" = 0 ]; then
  exit 0
fi

if [ "$EUID" -ne 0 ]; then
  refuse "Not root, so nothing was installed: run this as root (or run this npm command as root, which does):"
fi
if [ "${#missing_packages[@]}" -gt 0 ] && ! command -v apt-get >/dev/null 2>&1; then
  refuse "No apt-get here (not Debian?): install them with this system's packages; on Debian, as root:"
fi

if [ "${#missing_packages[@]}" -gt 0 ]; then
  echo "preflight: installing ${missing_packages[*]} (for $(describe))" >&2
  apt_options=()
  if [ -n "${APT_CACHE_DIR:-}" ]; then
    mkdir -p "$APT_CACHE_DIR/partial"
    apt_options=(-o "Dir::Cache::Archives=$APT_CACHE_DIR" -o APT::Keep-Downloaded-Packages=true)
  fi
  apt-get "${apt_options[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" install -y -qq \
    --no-install-recommends "${missing_packages[@]}" >&2
fi
if [ "$missing_user" = 1 ]; then
  echo "preflight: adding the user git (sshd runs as it in the rehearsal)" >&2
  $GIT_USER_COMMAND
fi

check
if [ "${#missing_tools[@]}" -gt 0 ] || [ "$missing_user" = 1 ]; then
  {
    printf 'preflight: still missing after the install: %s. Install them as root:\n' "$(describe)"
    printf '  %s\n' "$(install_line)"
  } >&2
  exit 1
fi
