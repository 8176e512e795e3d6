// GitLab's SSH side, for real: Debian's OpenSSH sshd on 127.0.0.1 and a free port, run as the
// unprivileged user `git` (the user in every GitLab clone URL; an sshd not run as root can only
// log in its own user, and needs no privilege-separation directory), with its own config, its
// host key the one the stack config pins in `gitSsh.knownHosts`, serving bare repositories.
// Deploy keys are `authorized_keys` lines with a forced command, as gitlab-shell installs them:
// a read-only deploy key may only `git-upload-pack` its project; a key with push access may
// also `git-receive-pack` it. The refusals use GitLab's words (gitlabhq lib/gitlab/git_access.rb
// ERROR_MESSAGES: deploy_key_upload, project_not_found).
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { Ed25519Key } from "./keys";

export const GIT_USER = "git";

export interface DeployKeyRule {
  project: string;
  publicKey: string;
  canPush: boolean;
}

export interface Sshd {
  port: number;
  /** Bare repository of a project path (e.g. root/hello-python). */
  repo(project: string): string;
  stop(): Promise<void>;
  log(): string;
}

function gitUser(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync("id", ["-u", GIT_USER], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", GIT_USER], { encoding: "utf8" }));
    return { uid, gid };
  } catch {
    throw new Error(
      `no user ${GIT_USER} on this machine (GitLab's SSH user); as root: useradd --system --home-dir /nonexistent --shell /bin/sh ${GIT_USER} (scripts/preflight.sh does this as root)`,
    );
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setTimeout(1000);
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString().startsWith("SSH-2.0-"));
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const SHELL = `#!/bin/sh
# gitlab-shell stand-in: $1 repositories root, $2 the deploy key's project, $3 read|write.
set -eu
REPOS="$1"; PROJECT="$2"; ACCESS="$3"
set -- $SSH_ORIGINAL_COMMAND
VERB="\${1:-}"; TARGET="\${2:-}"
TARGET="\${TARGET#\\'}"; TARGET="\${TARGET%\\'}"; TARGET="\${TARGET#/}"; TARGET="\${TARGET%.git}"
case "$VERB" in
  git-upload-pack | git-receive-pack) ;;
  *) echo "ERROR: Unknown command: $SSH_ORIGINAL_COMMAND" >&2; exit 1 ;;
esac
if [ "$TARGET" != "$PROJECT" ]; then
  echo "ERROR: The project you were looking for could not be found or you don't have permission to view it." >&2
  exit 1
fi
if [ "$VERB" = git-receive-pack ] && [ "$ACCESS" != write ]; then
  echo "ERROR: This deploy key does not have write access to this project." >&2
  exit 1
fi
exec "$VERB" "$REPOS/$TARGET.git"
`;

export async function startSshd(
  dir: string,
  port: number,
  hostKey: Ed25519Key,
  rules: DeployKeyRule[],
  track: (pid: number) => void,
  untrack: (pid: number) => void,
): Promise<Sshd> {
  const user = gitUser();
  const sshd = "/usr/sbin/sshd";
  if (!fs.existsSync(sshd)) throw new Error(`${sshd} missing (Debian package openssh-server)`);
  fs.mkdirSync(path.join(dir, "repos"), { recursive: true });
  const file = (name: string, text: string, mode: number) => {
    const at = path.join(dir, name);
    fs.writeFileSync(at, text, { mode });
    fs.chmodSync(at, mode);
    fs.chownSync(at, user.uid, user.gid);
    return at;
  };
  const shell = file("gitlab-shell", SHELL, 0o755);
  const keyFile = file("ssh_host_ed25519_key", hostKey.privateKeyOpenssh, 0o600);
  const repos = path.join(dir, "repos");
  const authorized = file(
    "authorized_keys",
    rules
      .map(
        (rule) =>
          `command="${shell} ${repos} ${rule.project} ${rule.canPush ? "write" : "read"}",no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty ${rule.publicKey.trim()}\n`,
      )
      .join(""),
    0o644,
  );
  const config = file(
    "sshd_config",
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${keyFile}`,
      "PidFile none",
      `AuthorizedKeysFile ${authorized}`,
      "StrictModes no",
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      `AllowUsers ${GIT_USER}`,
      "AllowTcpForwarding no",
      "X11Forwarding no",
      "PermitTTY no",
      "PermitUserEnvironment no",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
    0o644,
  );
  let log = "";
  const child = spawn(sshd, ["-D", "-e", "-f", config], {
    uid: user.uid,
    gid: user.gid,
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  child.stderr.on("data", (d) => (log += d));
  if (child.pid) track(child.pid);
  let exited = false;
  child.on("exit", () => {
    exited = true;
    if (child.pid) untrack(child.pid);
  });
  const deadline = Date.now() + 10_000;
  while (!(await banner(port))) {
    if (exited || Date.now() > deadline) {
      throw new Error(`sshd did not start on 127.0.0.1:${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    repo: (project) => path.join(repos, `${project}.git`),
    log: () => log,
    stop: () =>
      new Promise((resolve) => {
        if (exited) return resolve();
        child.once("exit", () => resolve());
        try {
          process.kill(-child.pid!, "SIGTERM");
        } catch {
          resolve();
        }
      }),
  };
}

/** Hands the repositories to the git user (sshd's forced command reads and writes them). */
export function giveToGitUser(dir: string): void {
  const { uid, gid } = gitUser();
  execFileSync("chown", ["-R", `${uid}:${gid}`, dir]);
}
