// Tekton's credential init, as v1.15.0 does it, for ssh-auth git Secrets and registry Secrets:
// - the controller (pkg/pod/creds_init.go `credsInit`) reads the TaskRun's ServiceAccount and
//   mounts each listed Secret a builder matches at /tekton/creds-secrets/<name>
//   (pkg/credentials/matcher `VolumeName`), passing the entrypoint flags: dockercreds
//   `MatchingAnnotations` matches every kubernetes.io/dockerconfigjson Secret (no annotation
//   needed) and basic-auth annotated tekton.dev/docker-*; gitcreds matches ssh-auth and
//   basic-auth annotated tekton.dev/git-*;
// - each step's entrypoint (cmd/entrypoint/main.go) writes them to /tekton/creds: gitcreds
//   ssh.go `sshGitConfig.Write` (.ssh/id_<secret> 0600, .ssh/config with one `Host` block per
//   URL, .ssh/known_hosts from the Secrets' known_hosts), dockercreds `Write`
//   (.docker/config.json 0600, the `auths` merged), then copies them into the step's $HOME
//   (pkg/credentials/writer `CopyCredsToHome`: directories 0700, files 0600).
// basic-auth git credentials (.gitconfig/.git-credentials) are not emulated: a Secret needing
// them makes the rehearsal fail rather than pass silently.
import * as fs from "node:fs";
import * as path from "node:path";
import { secretData } from "./workspaces";

const GIT_ANNOTATION = "tekton.dev/git-";
const DOCKER_ANNOTATION = "tekton.dev/docker-";

function annotationValues(secret: any, prefix: string): string[] {
  const annotations: Record<string, string> = secret.metadata?.annotations ?? {};
  return Object.entries(annotations)
    .filter(([key]) => key.startsWith(prefix))
    .map(([, value]) => value)
    .sort(); // pkg/credentials/writer `SortAnnotations`
}

/** Writes what the entrypoint writes to /tekton/creds for `serviceAccount`; false when nothing. */
export function writeCredsDir(
  serviceAccount: any,
  secrets: Record<string, any>,
  credsDir: string,
): boolean {
  const ssh: { url: string; secret: string; key: Buffer; knownHosts: string }[] = [];
  const auths: Record<string, unknown> = {};
  for (const { name } of serviceAccount?.secrets ?? []) {
    const secret = secrets[name];
    if (!secret) continue; // "Secret ... not found, skipping" (credsInit)
    const data = secretData(secret);
    const type = secret.type ?? "Opaque";
    if (type === "kubernetes.io/dockerconfigjson") {
      Object.assign(auths, JSON.parse(data[".dockerconfigjson"].toString()).auths ?? {});
    } else if (type === "kubernetes.io/ssh-auth") {
      for (const url of annotationValues(secret, GIT_ANNOTATION)) {
        ssh.push({
          url,
          secret: name,
          key: data["ssh-privatekey"],
          knownHosts: data.known_hosts?.toString() ?? "",
        });
      }
    } else if (type === "kubernetes.io/basic-auth") {
      if (annotationValues(secret, GIT_ANNOTATION).length > 0) {
        throw new Error(`credential init for basic-auth git Secret ${name} is not emulated`);
      }
      for (const url of annotationValues(secret, DOCKER_ANNOTATION)) {
        const username = data.username?.toString() ?? "";
        const password = data.password?.toString() ?? "";
        auths[url] = {
          username,
          password,
          auth: Buffer.from(`${username}:${password}`).toString("base64"),
        };
      }
    }
  }
  if (ssh.length === 0 && Object.keys(auths).length === 0) return false;
  fs.mkdirSync(credsDir, { recursive: true });
  if (ssh.length > 0) {
    const sshDir = path.join(credsDir, ".ssh");
    fs.mkdirSync(sshDir, { recursive: true });
    const config: string[] = [];
    const knownHosts: string[] = [];
    for (const entry of ssh) {
      // gitcreds ssh.go `parseSSHURL`: host[:port][/path]; a path gets a per-repository alias.
      const slash = entry.url.indexOf("/");
      const hostPort = slash === -1 ? entry.url : entry.url.slice(0, slash);
      const match = /^(.*):(\d+)$/.exec(hostPort);
      const host = match ? match[1] : hostPort;
      const port = match ? match[2] : "22";
      const keyPath = path.join(sshDir, `id_${entry.secret}`);
      fs.writeFileSync(keyPath, entry.key, { mode: 0o600 });
      config.push(
        `Host ${host}\n    HostName ${host}\n    Port ${port}\n    IdentityFile ${keyPath}\n`,
      );
      if (entry.knownHosts !== "") knownHosts.push(entry.knownHosts);
    }
    fs.writeFileSync(path.join(sshDir, "config"), config.join(""), { mode: 0o600 });
    if (knownHosts.length > 0) {
      fs.writeFileSync(path.join(sshDir, "known_hosts"), knownHosts.join("\n"), { mode: 0o600 });
    }
  }
  if (Object.keys(auths).length > 0) {
    const dockerDir = path.join(credsDir, ".docker");
    fs.mkdirSync(dockerDir, { recursive: true });
    fs.writeFileSync(path.join(dockerDir, "config.json"), JSON.stringify({ auths }), {
      mode: 0o600,
    });
  }
  return true;
}

/** `CopyCredsToHome`: .docker, .gitconfig, .git-credentials, .ssh from /tekton/creds to $HOME. */
export function copyCredsToHome(credsDir: string, home: string, uid: number, gid: number): void {
  const copy = (from: string, to: string) => {
    const stat = fs.lstatSync(from, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      fs.mkdirSync(to, { recursive: true, mode: 0o700 });
      fs.chownSync(to, uid, gid);
      for (const entry of fs.readdirSync(from)) copy(path.join(from, entry), path.join(to, entry));
    } else {
      fs.writeFileSync(to, fs.readFileSync(from), { mode: 0o600 });
      fs.chownSync(to, uid, gid);
    }
  };
  for (const name of [".docker", ".gitconfig", ".git-credentials", ".ssh"]) {
    copy(path.join(credsDir, name), path.join(home, name));
  }
}
