// The step scripts as files: each parses and passes shellcheck in its own dialect (a broken one
// is named by file and line), readScript assembles them as the builders need, and the values a
// script spells out agree with the TypeScript constants the manifests use.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { STATUS_TOKEN_KEY } from "../../config/schema";
import {
  GIT_PULL_SECRET,
  GIT_WRITE_SECRET,
  GITLAB_CA_CONFIGMAP,
  GITLAB_CA_KEY,
  PIPELINE_PARAMS,
  RUN_METADATA,
  WORKSPACES,
} from "../../tekton/core/names";
import { MERGE_REQUEST_PARAMS } from "../../tekton/mergeRequest/pipeline";
import { readScript } from "../../tekton/core/scripts";
import {
  BUILD_RESULTS,
  SOURCE_TIP_REF,
  TASK_PARAMS,
  TASK_RESULTS,
} from "../../tekton/build/common";
import { FETCH_REFUSED_PATTERN } from "../../tekton/build/tagTask";
import { CANCEL_SPEC_STATUS } from "../../tekton/cancel/cancelTask";
import {
  dialectOf,
  projectShellFiles,
  REPO_ROOT,
  scriptFiles,
  shellcheckFindings,
  syntaxErrors,
} from "../harness/shellFiles";

const SOURCE_LINE = (name: string) => `. "$(dirname "$0")/${name}"\n`;

describe("step script files (tekton/*/scripts/*.sh)", function () {
  this.timeout(30000);
  const files = scriptFiles();
  let scratch: string;
  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "script-files-"));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("holds every builder folder's scripts", () => {
    for (const file of [
      "tekton/build/scripts/tag.sh",
      "tekton/build/scripts/commit-and-push.sh",
      "tekton/status/scripts/post-status.sh",
      "tekton/cancel/scripts/cancel-superseded.sh",
      "tekton/cluster/scripts/webhooks-ready.sh",
      "tekton/cluster/scripts/pruner-webhook-ready.sh",
    ]) {
      assert.ok(files.includes(file), `${file} not among ${files.join(", ")}`);
    }
  });

  for (const file of files) {
    it(`${file} parses in its dialect (bash -n, or dash and busybox sh -n)`, () => {
      assert.deepEqual(syntaxErrors(file), []);
    });

    it(`${file} passes shellcheck --severity=warning in its dialect`, () => {
      assert.deepEqual(shellcheckFindings(file), []);
    });
  }

  it("every fragment (no #! line) is sourced in its folder by scripts of its own dialect", () => {
    const text = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), "utf8");
    for (const fragment of files.filter((f) => !text(f).startsWith("#!"))) {
      const folder = path.dirname(fragment);
      const sourcing = files.filter(
        (f) => path.dirname(f) === folder && text(f).includes(SOURCE_LINE(path.basename(fragment))),
      );
      assert.ok(sourcing.length > 0, `${fragment} is sourced by no script in ${folder}`);
      for (const script of sourcing) {
        assert.equal(dialectOf(script), dialectOf(fragment), `${script} sources ${fragment}`);
      }
    }
  });

  it("names the file and the line of a syntax error, in either dialect", () => {
    const sh = path.join(scratch, "broken.sh");
    fs.writeFileSync(sh, '#!/bin/sh\nset -eu\nif [ -n "$X" ]; then echo )\nfi\n');
    const shErrors = syntaxErrors(sh);
    assert.equal(shErrors.length, 2, shErrors.join("\n"));
    for (const error of shErrors) assert.ok(error.startsWith(`${sh}:3: `), error);
    assert.match(shErrors.join("\n"), /:3: dash: .*\n.*:3: busybox ash: /);

    const bash = path.join(scratch, "broken-bash.sh");
    fs.writeFileSync(bash, "#!/usr/bin/env bash\nfor ((i = 0; i < 2; i++)); do\n  echo $i\n");
    assert.equal(dialectOf(bash), "bash");
    const bashErrors = syntaxErrors(bash);
    assert.equal(bashErrors.length, 1);
    assert.ok(bashErrors[0].startsWith(`${bash}:4: bash: `), bashErrors[0]);
  });

  it("names the file and the line of a shellcheck warning", () => {
    const file = path.join(scratch, "warning.sh");
    fs.writeFileSync(file, '#!/bin/sh\nset -eu\necho "$undefined_here"\n');
    const findings = shellcheckFindings(file);
    assert.equal(findings.length, 1, findings.join("\n"));
    assert.match(findings[0], new RegExp(`^${file}:3:\\d+: warning: .*\\[SC2154\\]`));
  });

  it("refuses a file with neither #! line nor dialect directive", () => {
    const file = path.join(scratch, "plain.sh");
    fs.writeFileSync(file, "echo hi\n");
    assert.throws(() => dialectOf(file), new RegExp(`^Error: ${file}:1: neither`));
  });

  it("is read from the folder the builders load at (beside tekton/<folder>/*.ts)", () => {
    // Every script with a #! line is a step's: some builder of its folder reads it by name
    // with readScript from `scripts/` beside it (fragments are checked above).
    for (const file of files) {
      const text = fs.readFileSync(path.join(REPO_ROOT, file), "utf8");
      if (!text.startsWith("#!")) continue;
      assert.equal(path.basename(path.dirname(file)), "scripts", file);
      const folder = path.join(REPO_ROOT, path.dirname(path.dirname(file)));
      const builders = fs
        .readdirSync(folder)
        .filter((name) => name.endsWith(".ts"))
        .map((name) => fs.readFileSync(path.join(folder, name), "utf8"));
      const name = JSON.stringify(path.basename(file));
      assert.ok(
        builders.some((source) => source.includes("readScript(") && source.includes(name)),
        `${file}: no builder in ${path.dirname(path.dirname(file))} reads it with readScript`,
      );
    }
  });
});

describe("the project's own shell (scripts/*.sh, .ci/run)", function () {
  this.timeout(30000);
  const files = projectShellFiles();

  it("holds the preflight and CI's entry point", () => {
    assert.ok(files.includes("scripts/preflight.sh"), files.join(", "));
    assert.ok(files.includes(".ci/run"), files.join(", "));
  });

  for (const file of files) {
    it(`${file} parses in its dialect and passes shellcheck --severity=warning`, () => {
      assert.deepEqual(syntaxErrors(file), []);
      assert.deepEqual(shellcheckFindings(file), []);
    });
  }
});

describe("readScript", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "read-script-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);

  it("inlines a sourced fragment without its header, every other byte as it was", () => {
    write("main.sh", `#!/bin/sh\nset -eu\n${SOURCE_LINE("part.sh")}\necho "$X"\n`);
    write("part.sh", "# For readers only.\n# shellcheck shell=sh\nX=1\n");
    assert.equal(readScript(dir, "main.sh"), '#!/bin/sh\nset -eu\nX=1\n\necho "$X"\n');
  });

  it("inlines the fragments a fragment sources", () => {
    write("main.sh", `#!/bin/sh\n${SOURCE_LINE("a.sh")}echo end\n`);
    write("a.sh", `# shellcheck shell=sh\necho a\n${SOURCE_LINE("b.sh")}`);
    write("b.sh", "# shellcheck shell=sh\necho b\n");
    assert.equal(readScript(dir, "main.sh"), "#!/bin/sh\necho a\necho b\necho end\n");
  });

  it("inlines a fragment of another folder by its relative path, and that fragment's own by theirs", () => {
    fs.mkdirSync(path.join(dir, "feature", "scripts"), { recursive: true });
    fs.mkdirSync(path.join(dir, "shared", "scripts"), { recursive: true });
    write(
      "feature/scripts/main.sh",
      `#!/bin/sh\n${SOURCE_LINE("../../shared/scripts/a.sh")}echo end\n`,
    );
    write("shared/scripts/a.sh", `# shellcheck shell=sh\necho a\n${SOURCE_LINE("b.sh")}`);
    write("shared/scripts/b.sh", "# shellcheck shell=sh\necho b\n");
    assert.equal(
      readScript(path.join(dir, "feature", "scripts"), "main.sh"),
      "#!/bin/sh\necho a\necho b\necho end\n",
    );
  });

  it("drops the source line of an omitted fragment", () => {
    write("main.sh", `#!/bin/sh\necho 1\n${SOURCE_LINE("extra.sh")}echo 2\n`);
    write("extra.sh", "# shellcheck shell=sh\necho extra\n");
    assert.equal(readScript(dir, "main.sh", { omit: ["extra.sh"] }), "#!/bin/sh\necho 1\necho 2\n");
  });

  it("refuses a fragment without its header, a source loop and a last line without newline", () => {
    write("main.sh", `#!/bin/sh\n${SOURCE_LINE("bare.sh")}`);
    write("bare.sh", "echo bare\n");
    assert.throws(() => readScript(dir, "main.sh"), /bare\.sh: a sourced file starts with/);
    write("main.sh", `#!/bin/sh\n${SOURCE_LINE("loop.sh")}`);
    write("loop.sh", `# shellcheck shell=sh\n${SOURCE_LINE("loop.sh")}`);
    assert.throws(() => readScript(dir, "main.sh"), /main\.sh sources loop\.sh sources loop\.sh/);
    write("main.sh", "#!/bin/sh\necho no newline");
    assert.throws(() => readScript(dir, "main.sh"), /main\.sh: the last line has no newline/);
  });
});

/**
 * Values the scripts spell out that the manifests name from TypeScript (until they moved into
 * files they were spliced in): [script, the exact text, how often it stands there].
 */
describe("the scripts agree with the TypeScript constants they spell out", () => {
  const build = (name: string) => readScript(path.join(REPO_ROOT, "tekton/build/scripts"), name);
  const mr = (name: string) =>
    readScript(path.join(REPO_ROOT, "tekton/mergeRequest/scripts"), name);
  const agreements: [string, () => string, string, number][] = [
    ["tag.sh", () => build("tag.sh"), `"${PIPELINE_PARAMS.sourceUrl} must be a git URL`, 1],
    ["tag.sh", () => build("tag.sh"), `"${TASK_PARAMS.sourceBranch} must be a git branch`, 1],
    ["tag.sh", () => build("tag.sh"), `bind Secret ${GIT_PULL_SECRET} (`, 1],
    ["tag.sh", () => build("tag.sh"), SOURCE_TIP_REF, 2],
    ["tag.sh", () => build("tag.sh"), `grep -qE '${FETCH_REFUSED_PATTERN}'`, 1],
    ["tag.sh", () => build("tag.sh"), `"$(results.${TASK_RESULTS.imageUrl}.path)"`, 1],
    ["tag.sh", () => build("tag.sh"), `"$(results.${TASK_RESULTS.commitSha}.path)"`, 1],
    ["image-url.sh", () => build("image-url.sh"), `"$(results.${BUILD_RESULTS.imageUrl}.path)"`, 1],
    [
      "clone-operations.sh",
      () => build("clone-operations.sh"),
      `"${PIPELINE_PARAMS.operationsUrl} must be a git URL`,
      1,
    ],
    [
      "clone-operations.sh",
      () => build("clone-operations.sh"),
      `"${TASK_PARAMS.operationsBranch} must be a git branch name or empty`,
      1,
    ],
    ["clone-operations.sh", () => build("clone-operations.sh"), `Secret ${GIT_WRITE_SECRET} (`, 1],
    ["commit-and-push.sh", () => build("commit-and-push.sh"), `Secret ${GIT_WRITE_SECRET} (`, 1],
    ["commit-and-push.sh", () => build("commit-and-push.sh"), SOURCE_TIP_REF, 3],
    [
      "post-status.sh",
      () => readScript(path.join(REPO_ROOT, "tekton/status/scripts"), "post-status.sh"),
      `workspace ${WORKSPACES.statusToken} needs key ${STATUS_TOKEN_KEY}"`,
      1,
    ],
    [
      "post-status.sh",
      () => readScript(path.join(REPO_ROOT, "tekton/status/scripts"), "post-status.sh"),
      `(ConfigMap ${GITLAB_CA_CONFIGMAP}, key ${GITLAB_CA_KEY})`,
      1,
    ],
    [
      "cancel-superseded.sh",
      () => readScript(path.join(REPO_ROOT, "tekton/cancel/scripts"), "cancel-superseded.sh"),
      `--arg branchKey "${RUN_METADATA.branchAnnotation}"`,
      1,
    ],
    [
      "cancel-superseded.sh",
      () => readScript(path.join(REPO_ROOT, "tekton/cancel/scripts"), "cancel-superseded.sh"),
      CANCEL_SPEC_STATUS,
      2,
    ],
    [
      "fetch-merge-request.sh",
      () => mr("fetch-merge-request.sh"),
      `bind Secret ${GIT_PULL_SECRET} (`,
      1,
    ],
    [
      "fetch-merge-request.sh",
      () => mr("fetch-merge-request.sh"),
      `"${MERGE_REQUEST_PARAMS.iid} must be a merge request number`,
      1,
    ],
    [
      "fetch-merge-request.sh",
      () => mr("fetch-merge-request.sh"),
      `"$(results.${TASK_RESULTS.imageUrl}.path)"`,
      1,
    ],
    [
      "fetch-merge-request.sh",
      () => mr("fetch-merge-request.sh"),
      `"$(results.${TASK_RESULTS.commitSha}.path)"`,
      1,
    ],
    // The script is given the pipeline-run param; Tekton labels its TaskRuns with these keys.
    [
      "describe-failure.sh",
      () => mr("describe-failure.sh"),
      '"tekton.dev/pipelineRun=$PIPELINE_RUN"',
      1,
    ],
    ["describe-failure.sh", () => mr("describe-failure.sh"), '["tekton.dev/pipelineTask"]', 1],
  ];
  for (const [script, read, text, count] of agreements) {
    it(`${script} says ${text} ${count === 1 ? "once" : `${count} times`}`, () => {
      assert.equal(read().split(text).length - 1, count);
    });
  }
});
