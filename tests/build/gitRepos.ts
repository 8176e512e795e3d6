// Real git repositories for the step-script tests: a bare "GitLab" repository on a local path
// and a working clone to make commits in, with committer dates the test chooses.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "./helpers";

/** Runs the machine's git with a clean identity and no system or user config. */
export function git(cwd: string, ...args: string[]): string {
  return gitWithEnv(cwd, {}, ...args);
}

function gitWithEnv(cwd: string, env: Record<string, string>, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      GIT_CONFIG_NOSYSTEM: "1",
      HOME: cwd,
      GIT_AUTHOR_NAME: "someone",
      GIT_AUTHOR_EMAIL: "someone@example.com",
      GIT_COMMITTER_NAME: "someone",
      GIT_COMMITTER_EMAIL: "someone@example.com",
      ...env,
    },
  }).trim();
}

/** The path of the machine's real git, for stubs that wrap it. */
export function realGit(): string {
  return execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
}

export interface SourceRepo {
  /** The bare repository: the URL the tag step fetches from. */
  remote: string;
  /** Commits on top of the work clone's HEAD, committed at `date` (ISO 8601, UTC). */
  commit(message: string, date: string): string;
  /** Moves the work clone's HEAD to `sha` (for rewriting history). */
  resetTo(sha: string): void;
  /** Pushes HEAD to the remote's main, forced when history was rewritten. */
  push(force?: boolean): void;
}

/** A source repository in `objectFormat` (sha1 or sha256) with branch main. */
export function sourceRepo(objectFormat: "sha1" | "sha256" = "sha1"): SourceRepo {
  const root = tempDir("source-repo");
  const remote = path.join(root, "app.git");
  const work = path.join(root, "work");
  git(root, "init", "--quiet", "--bare", `--object-format=${objectFormat}`, "-b", "main", remote);
  git(root, "init", "--quiet", `--object-format=${objectFormat}`, "-b", "main", work);
  git(work, "remote", "add", "origin", remote);
  let counter = 0;
  return {
    remote,
    commit(message, date) {
      fs.writeFileSync(path.join(work, "file"), `${message} ${counter++}\n`);
      git(work, "add", "file");
      const dates = { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
      gitWithEnv(work, dates, "commit", "--quiet", "-m", message);
      return git(work, "rev-parse", "HEAD");
    },
    resetTo(sha) {
      git(work, "reset", "--quiet", "--hard", sha);
    },
    push(force = false) {
      git(work, "push", "--quiet", ...(force ? ["--force"] : []), "origin", "HEAD:main");
    },
  };
}
