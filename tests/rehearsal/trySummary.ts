// What `npm run try` tells a newcomer about the one push it rehearsed: which commit was pushed
// and cloned, the tag and image the build stand-in produced, and the commit it left in the
// operations repository, with the deployment file's changed lines.
import { BUILD_RESULTS, TASK_RESULTS } from "../../tekton/build/common";
import type { PipelineRunRecord } from "./runner";

export interface PushSummary {
  sourceProject: string;
  branch: string;
  /** The SHA the developer pushed. */
  pushed: string;
  pipelineRun: string;
  /** The SHA the clone task checked out (its `commit-sha` result). */
  cloned: string;
  /** The image tag the clone task chose (the tag of its `image-url` result). */
  tag: string;
  /** The build task's `IMAGE_URL` and `IMAGE_DIGEST`. */
  image: string;
  digest: string;
  operationsProject: string;
  operationsCommit: string;
  operationsSubject: string;
  file: string;
  /** The file's lines the commit removed and added (the container's image line). */
  removed: string[];
  added: string[];
  seconds: number;
}

const short = (sha: string) => sha.slice(0, 12);

/** A container's `image:` lines: `kubectl set image -o yaml` re-writes the whole file. */
const imageLines = (lines: string[]) => lines.filter((l) => /^\s*(-\s+)?image:\s/.test(l));

/** A few lines: what happened to the push, from the developer's commit to the deploy commit. */
export function formatPushSummary(s: PushSummary): string[] {
  const others =
    s.removed.length + s.added.length - imageLines(s.removed).length - imageLines(s.added).length;
  return [
    `try: pushed commit ${short(s.pushed)} to ${s.sourceProject} (branch ${s.branch}); ` +
      `the shared listener started PipelineRun ${s.pipelineRun}`,
    `  cloned commit ${s.cloned} and tagged it ${s.tag}`,
    `  the build stand-in (Kaniko's arguments checked; no real build, no push) built ` +
      `${s.image}@${s.digest}`,
    `  committed ${short(s.operationsCommit)} "${s.operationsSubject}" to the operations ` +
      `repository ${s.operationsProject}, file ${s.file}:`,
    ...imageLines(s.removed).map((line) => `    - ${line.trim()}`),
    ...imageLines(s.added).map((line) => `    + ${line.trim()}`),
    ...(others > 0 ? [`    (and ${others} more lines kubectl's set-image step re-wrote)`] : []),
    `try: done in ${s.seconds.toFixed(1)} s, offline (sshd, git, busybox and kubectl on this ` +
      `machine; everything it made is removed). \`npm run rehearse\` runs every scenario.`,
  ];
}

/** The clone and build tasks' results of a finished run. */
export function buildResults(record: PipelineRunRecord): {
  cloned: string;
  tag: string;
  image: string;
  digest: string;
} {
  const clone = record.taskRuns.find(
    (t) => t.results[TASK_RESULTS.commitSha] && t.results[TASK_RESULTS.imageUrl],
  );
  const build = record.taskRuns.find((t) => t.results[BUILD_RESULTS.imageDigest]);
  if (!clone || !build) {
    throw new Error(`PipelineRun ${record.name} has no clone or no build results`);
  }
  const url = clone.results[TASK_RESULTS.imageUrl];
  return {
    cloned: clone.results[TASK_RESULTS.commitSha],
    tag: url.slice(url.lastIndexOf(":") + 1),
    image: build.results[BUILD_RESULTS.imageUrl],
    digest: build.results[BUILD_RESULTS.imageDigest],
  };
}

/** The `-`/`+` lines of a `git diff -U0` (no file headers). */
export function changedLines(diff: string): { removed: string[]; added: string[] } {
  const lines = diff.split("\n");
  return {
    removed: lines.filter((l) => l.startsWith("-") && !l.startsWith("---")).map((l) => l.slice(1)),
    added: lines.filter((l) => l.startsWith("+") && !l.startsWith("+++")).map((l) => l.slice(1)),
  };
}
