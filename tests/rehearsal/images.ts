// What a step's image provides, on this machine. Each image becomes a directory of commands
// that is the step's whole PATH, and a map from the interpreter paths a script's `#!` line may
// name to real programs:
// - Alpine-based images (alpine/git): busybox's applets as the userland and `/bin/sh`
//   (Debian's busybox; Alpine's /bin/sh is busybox ash), plus the machine's git and ssh
//   (alpine/git ships git and openssh-client).
// - the kubectl image (registry.k8s.io/kubectl, Debian-based since 1.28): bash, the real
//   `kubectl` found on this machine, and a few Debian coreutils.
// - the curl image (curlimages/curl, Alpine-based): busybox's applets and the machine's curl.
// - Kaniko cannot run here: its `/kaniko/executor` is the clearly named stand-in
//   kanikoStandIn.ts (see there for what it checks).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface ImageRuntime {
  kind: "alpine" | "kubectl" | "kaniko" | "curl";
  /** Directory that is the step's PATH. */
  bin: string;
  /** `#!` interpreter path -> argv prefix that runs it here. */
  interpreters: Record<string, string[]>;
  /** Absolute command paths in the image -> argv prefix that runs it here. */
  commands: Record<string, string[]>;
}

export function which(command: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

function link(bin: string, name: string, target: string): void {
  const at = path.join(bin, name);
  fs.rmSync(at, { force: true });
  fs.symlinkSync(target, at);
}

export function classify(image: string, command?: string[]): ImageRuntime["kind"] {
  if (command?.[0] === "/kaniko/executor" || /kaniko/.test(image)) return "kaniko";
  if (/kubectl/.test(image)) return "kubectl";
  if (/curl/.test(image)) return "curl";
  if (/alpine/.test(image)) return "alpine";
  throw new Error(`image ${image}: the rehearsal does not know what it provides`);
}

export function prepareImages(root: string, kanikoStandIn: string[]): Record<string, ImageRuntime> {
  const busybox = which("busybox");
  const git = which("git");
  const ssh = which("ssh");
  const bash = which("bash");
  const kubectl = which("kubectl");
  const curl = which("curl");
  const missing = Object.entries({ busybox, git, ssh, bash, kubectl, curl })
    .filter(([, found]) => !found)
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new Error(
      `missing on this machine: ${missing.join(", ")} (scripts/preflight.sh installs them as root)`,
    );
  }

  const alpine = path.join(root, "alpine", "bin");
  fs.mkdirSync(alpine, { recursive: true });
  const applets = execFileSync(busybox!, ["--list"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  for (const applet of applets) link(alpine, applet, busybox!);
  link(alpine, "git", git!);
  link(alpine, "ssh", ssh!);

  // curlimages/curl: Alpine's busybox userland and curl, nothing else (no git, no ssh).
  const curlBin = path.join(root, "curl", "bin");
  fs.mkdirSync(curlBin, { recursive: true });
  for (const applet of applets) link(curlBin, applet, busybox!);
  link(curlBin, "curl", curl!);

  const kubectlBin = path.join(root, "kubectl", "bin");
  fs.mkdirSync(kubectlBin, { recursive: true });
  link(kubectlBin, "kubectl", kubectl!);
  link(kubectlBin, "bash", bash!);
  for (const tool of [
    "sh",
    "cat",
    "rm",
    "mkdir",
    "mktemp",
    "grep",
    "sed",
    "sort",
    "cut",
    "tr",
    "head",
    "tail",
    "ls",
    "env",
    "cp",
    "mv",
    "chmod",
    "id",
    // cancel-superseded filters the runs with jq (the kubectl image installs it:
    // kubernetes/kubernetes build/server-image/kubectl/Dockerfile).
    "jq",
  ]) {
    const found = which(tool);
    if (found) link(kubectlBin, tool, found);
  }

  return {
    alpine: {
      kind: "alpine",
      bin: alpine,
      interpreters: { "/bin/sh": [busybox!, "sh"], "/bin/ash": [busybox!, "sh"] },
      commands: {},
    },
    curl: {
      kind: "curl",
      bin: curlBin,
      interpreters: { "/bin/sh": [busybox!, "sh"] },
      commands: {},
    },
    kubectl: {
      kind: "kubectl",
      bin: kubectlBin,
      interpreters: { "/bin/bash": [bash!], "/usr/bin/bash": [bash!], "/bin/sh": ["/bin/sh"] },
      commands: {},
    },
    kaniko: {
      kind: "kaniko",
      bin: path.join(root, "kaniko", "bin"),
      interpreters: {},
      commands: { "/kaniko/executor": kanikoStandIn },
    },
  };
}

/** `kubectl version --client` of the kubectl the rehearsal runs, for the report. */
export function kubectlVersion(): string {
  try {
    const out = execFileSync("kubectl", ["version", "--client", "-o", "json"], {
      encoding: "utf8",
    });
    return JSON.parse(out).clientVersion?.gitVersion ?? "unknown";
  } catch {
    return "unknown";
  }
}
