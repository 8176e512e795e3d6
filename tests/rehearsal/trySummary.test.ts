// `npm run try`: the rehearsal's example push alone, told in a few lines (trySummary.ts).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { BUILD_RESULTS, TASK_RESULTS } from "../../tekton/build/common";
import type { PipelineRunRecord } from "./runner";
import { buildResults, changedLines, formatPushSummary, PushSummary } from "./trySummary";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const PUSHED = "59851fdb8974fa2f3601706b298e44db3ae39d99";
const OPS_COMMIT = "16b0e5ebe39d0c1f2a3b4c5d6e7f8091a2b3c4d5";
const DIGEST = `sha256:${"4e".repeat(32)}`;
const REPOSITORY = "registry.example.com/build/hello";
const TAG = `20260101000100-${PUSHED}-b7c0bd62`;

/** `git diff -U0` of a set-image commit: kubectl writes the whole file back. */
const DIFF = [
  "diff --git a/deploy/hello.yaml b/deploy/hello.yaml",
  "--- a/deploy/hello.yaml",
  "+++ b/deploy/hello.yaml",
  "@@ -12,3 +12,4 @@ spec:",
  "-      - name: hello",
  `-        image: ${REPOSITORY}:initial`,
  "-        ports:",
  "+      - image: " + `${REPOSITORY}:${TAG}@${DIGEST}`,
  "+        name: hello",
  "+        ports:",
  "+      status: {}",
].join("\n");

function record(): PipelineRunRecord {
  const task = (pipelineTask: string, results: Record<string, string>) => ({
    pipelineTask,
    name: `run-${pipelineTask}`,
    succeeded: true,
    steps: [],
    results,
  });
  return {
    name: "build-hello-f5p3p",
    succeeded: true,
    results: {},
    taskRuns: [
      task("generate-image-tag", {
        [TASK_RESULTS.imageUrl]: `${REPOSITORY}:${TAG}`,
        [TASK_RESULTS.commitSha]: PUSHED,
      }),
      task("build-and-push", {
        [BUILD_RESULTS.imageUrl]: `${REPOSITORY}:${TAG}`,
        [BUILD_RESULTS.imageDigest]: DIGEST,
      }),
      task("patch-deployment", {}),
    ],
  };
}

function summary(): PushSummary {
  return {
    sourceProject: "group/hello",
    branch: "main",
    pushed: PUSHED,
    pipelineRun: "build-hello-f5p3p",
    ...buildResults(record()),
    operationsProject: "group/hello-operations",
    operationsCommit: OPS_COMMIT,
    operationsSubject: `commit ${PUSHED}`,
    file: "deploy/hello.yaml",
    ...changedLines(DIFF),
    seconds: 21.4,
  };
}

describe("npm run try", () => {
  it("reads the cloned commit, the tag and the built image from the run's results", () => {
    assert.deepEqual(buildResults(record()), {
      cloned: PUSHED,
      tag: TAG,
      image: `${REPOSITORY}:${TAG}`,
      digest: DIGEST,
    });
    const noBuild = { ...record(), taskRuns: record().taskRuns.slice(0, 1) };
    assert.throws(() => buildResults(noBuild), /no clone or no build results/);
  });

  it("names the pushed commit, the built image and the operations repository's change", () => {
    const lines = formatPushSummary(summary());
    const text = lines.join("\n");
    assert.ok(lines.length <= 9, text);
    assert.match(lines[0], new RegExp(`pushed commit ${PUSHED.slice(0, 12)} to group/hello`));
    assert.match(lines[0], /PipelineRun build-hello-f5p3p/);
    assert.ok(text.includes(`cloned commit ${PUSHED} and tagged it ${TAG}`), text);
    assert.ok(text.includes(`built ${REPOSITORY}:${TAG}@${DIGEST}`), text);
    assert.ok(
      text.includes(
        `committed ${OPS_COMMIT.slice(0, 12)} "commit ${PUSHED}" to the operations repository ` +
          "group/hello-operations, file deploy/hello.yaml",
      ),
      text,
    );
    // Only the image lines, old then new; the rest of kubectl's re-write is a count.
    assert.ok(text.includes(`    - image: ${REPOSITORY}:initial\n`), text);
    assert.ok(text.includes(`    + - image: ${REPOSITORY}:${TAG}@${DIGEST}\n`), text);
    assert.doesNotMatch(text, /ports:|status:/);
    assert.match(text, /and 5 more lines/);
  });

  it("is an npm script that runs the preflight, then the rehearsal's --try mode", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
    assert.equal(
      pkg.scripts.try,
      "bash scripts/preflight.sh && ts-node --transpile-only tests/rehearsal/main.ts --try",
    );
    const main = fs.readFileSync(path.join(__dirname, "main.ts"), "utf8");
    assert.match(main, /process\.argv\.includes\("--try"\)/);
    assert.match(main, /formatPushSummary\(/);
  });
});
