// The step scripts as files (tekton/<folder>/scripts/*.sh): their dialect, and their syntax and
// shellcheck findings as `file:line: message`, so a broken script is named where it breaks.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { requireTool } from "./tools";

export const REPO_ROOT = path.resolve(__dirname, "../..");

/** Every `.sh` file under tekton/<folder>/scripts, relative to the repository root. */
export function scriptFiles(): string[] {
  const tekton = path.join(REPO_ROOT, "tekton");
  return fs
    .readdirSync(tekton, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((folder) => {
      const dir = path.join(tekton, folder.name, "scripts");
      if (!fs.existsSync(dir)) return [];
      return fs
        .readdirSync(dir)
        .filter((name) => name.endsWith(".sh"))
        .map((name) => path.relative(REPO_ROOT, path.join(dir, name)));
    })
    .sort();
}

/**
 * The project's own shell outside the Tasks: `scripts/*.sh` (the preflight) and `.ci/run`,
 * relative to the repository root.
 */
export function projectShellFiles(): string[] {
  const scripts = fs
    .readdirSync(path.join(REPO_ROOT, "scripts"))
    .filter((name) => name.endsWith(".sh"))
    .map((name) => path.join("scripts", name));
  return [...scripts, path.join(".ci", "run")].sort();
}

export type Dialect = "sh" | "bash";

/**
 * The shell a file is written for: a step script's `#!` line (/bin/sh: busybox ash in the
 * Alpine-based git and curl images; bash in the kubectl image), a sourced fragment's
 * `# shellcheck shell=` directive (the dialect of the scripts that source it).
 */
export function dialectOf(file: string): Dialect {
  const text = fs.readFileSync(path.resolve(REPO_ROOT, file), "utf8");
  const shebang = /^#!(\S+)(?: (\S+))?\n/.exec(text);
  const interpreter = shebang && (shebang[1] === "/usr/bin/env" ? shebang[2] : shebang[1]);
  if (interpreter === "/bin/sh") return "sh";
  if (interpreter === "/bin/bash" || interpreter === "bash") return "bash";
  if (shebang) throw new Error(`${file}:1: unexpected interpreter ${shebang[0].trim()}`);
  const directive = /^# shellcheck shell=(sh|bash)$/m.exec(text);
  if (!directive) {
    throw new Error(`${file}:1: neither a #! line nor a "# shellcheck shell=sh|bash" directive`);
  }
  return directive[1] as Dialect;
}

/** The parsers a file must pass: dash and busybox ash for sh, bash for bash. */
function parsers(dialect: Dialect): { name: string; command: string[] }[] {
  return dialect === "bash"
    ? [{ name: "bash", command: [requireTool("bash"), "-n"] }]
    : [
        { name: "dash", command: [requireTool("dash"), "-n"] },
        { name: "busybox ash", command: [requireTool("busybox"), "sh", "-n"] },
      ];
}

/**
 * Syntax errors of `file` (absolute or relative to the repository root), each as
 * `<file>:<line>: <parser>: <message>`; none: an empty list. dash says `<file>: <line>: ...`,
 * bash and busybox `<file>: line <line>: ...`.
 */
export function syntaxErrors(file: string, dialect: Dialect = dialectOf(file)): string[] {
  const absolute = path.resolve(REPO_ROOT, file);
  const errors: string[] = [];
  for (const parser of parsers(dialect)) {
    const [command, ...args] = parser.command;
    try {
      execFileSync(command, [...args, absolute], { stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? error);
      for (const line of stderr.trim().split("\n")) {
        const match = /^.*?: (?:line )?(\d+): (.*)$/.exec(line);
        errors.push(
          match ? `${file}:${match[1]}: ${parser.name}: ${match[2]}` : `${file}: ${line}`,
        );
      }
    }
  }
  return errors;
}

/** shellcheck's warnings and errors for `file`, as `<file>:<line>:<column>: ...` lines. */
export function shellcheckFindings(file: string, dialect: Dialect = dialectOf(file)): string[] {
  const shellcheck = requireTool("shellcheck");
  try {
    execFileSync(shellcheck, ["--severity=warning", `--shell=${dialect}`, "-f", "gcc", file], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return [];
  } catch (error) {
    const stdout = String((error as { stdout?: string }).stdout ?? "");
    return stdout ? stdout.trim().split("\n") : [String(error)];
  }
}
