// The import rules `npm test` enforces (.dependency-cruiser.cjs, run as `npm run depcheck`),
// checked on a small tree made here: one that keeps every rule passes, and one file per rule
// that breaks it fails with the rule's name and the offending import.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../harness/program";

const RULES = path.join(REPO_ROOT, ".dependency-cruiser.cjs");
/** What `npm run depcheck` cruises: the same arguments cruise the tree made here. */
const CRUISED: string[] = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"))
  .scripts.depcheck.split(" ")
  .slice(["depcruise", "--config", ".dependency-cruiser.cjs"].length);
const DEPCRUISE = path.join(REPO_ROOT, "node_modules", ".bin", "depcruise");

/** A tree shaped like the project's, every import running downward. */
const LAWFUL: Record<string, string> = {
  "tsconfig.json": JSON.stringify({ compilerOptions: { module: "commonjs", strict: true } }),
  "config/schema.ts": 'export const NAMESPACE = "tekton";\n',
  "config/load.ts": 'import { NAMESPACE } from "./schema";\nexport const ns = NAMESPACE;\n',
  "tekton/core/names.ts": 'import { ns } from "../../config/load";\nexport const name = ns;\n',
  "tekton/build/tasks.ts": 'import { name } from "../core/names";\nexport const task = name;\n',
  "components/core/childOptions.ts": "export const child = {};\n",
  "components/app/application.ts":
    'import { child } from "../core/childOptions";\nimport { task } from "../../tekton/build/tasks";\n' +
    "export const app = [child, task];\n",
  "outputs.ts": "export interface AppOutput { name: string }\n",
  "index.ts": 'import { app } from "./components/app/application";\nexport = async () => app;\n',
  "policy/policies.ts": 'import { name } from "../tekton/core/names";\nexport const p = name;\n',
  // The one import of index.ts there may be: the harness runs the program under mocks.
  "tests/harness/program.ts": 'const program = require("../../index");\nexport { program };\n',
  "tests/app/app.test.ts": 'import { app } from "../../components/app/application";\nvoid app;\n',
  // A consumer stack reads the outputs contract's types, nothing else of the program.
  "examples/consumer/index.ts":
    'import type { AppOutput } from "../../outputs";\nexport type A = AppOutput;\n',
  "scripts/render.ts": 'import { task } from "../tekton/build/tasks";\nvoid task;\n',
};

/** For each rule, a file that breaks it: the rule, the file, its text, the import reported. */
const VIOLATIONS = [
  {
    rule: "no-circular-imports",
    file: "tekton/core/variables.ts",
    text: 'import { b } from "./types";\nexport const a = b;\n',
    extra: { "tekton/core/types.ts": 'import { a } from "./variables";\nexport const b = a;\n' },
    // A circle is reported once, from its first module in path order.
    reported:
      "tekton/core/types.ts → \n      tekton/core/variables.ts →\n      tekton/core/types.ts",
  },
  {
    rule: "config-imports-nothing-from-the-program",
    file: "config/gitlabEndpoint.ts",
    text: 'import { app } from "../components/app/application";\nvoid app;\n',
    reported: "config/gitlabEndpoint.ts → components/app/application.ts",
  },
  {
    rule: "tekton-imports-no-components",
    file: "tekton/build/pipeline.ts",
    text: 'import { child } from "../../components/core/childOptions";\nvoid child;\n',
    reported: "tekton/build/pipeline.ts → components/core/childOptions.ts",
  },
  {
    rule: "tekton-core-imports-no-other-tekton-folder",
    file: "tekton/core/triggerTypes.ts",
    text: 'import { task } from "../build/tasks";\nvoid task;\n',
    reported: "tekton/core/triggerTypes.ts → tekton/build/tasks.ts",
  },
  {
    rule: "components-core-imports-no-other-components-folder",
    file: "components/core/options.ts",
    text: 'import { app } from "../app/application";\nvoid app;\n',
    reported: "components/core/options.ts → components/app/application.ts",
  },
  {
    rule: "program-imports-no-tests-or-scripts",
    file: "policy/values.ts",
    text: 'import { program } from "../tests/harness/program";\nvoid program;\n',
    reported: "policy/values.ts → tests/harness/program.ts",
  },
  {
    rule: "nothing-imports-index",
    file: "examples/consumer/program.ts",
    text: 'import program = require("../../index");\nvoid program;\n',
    reported: "examples/consumer/program.ts → index.ts",
  },
  {
    rule: "nothing-imports-index",
    file: "scripts/bench.ts",
    text: 'import program = require("../index");\nvoid program;\n',
    reported: "scripts/bench.ts → index.ts",
  },
];

function cruise(files: Record<string, string>): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "layers-"));
  try {
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    }
    const run = spawnSync(DEPCRUISE, ["--config", RULES, ...CRUISED, "--no-progress"], {
      cwd: dir,
      encoding: "utf8",
      timeout: 60_000,
    });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("import layers (.dependency-cruiser.cjs)", function () {
  this.timeout(120_000);

  it("pass a tree whose imports all run downward", () => {
    const run = cruise(LAWFUL);
    assert.equal(run.status, 0, run.output);
    assert.match(run.output, /no dependency violations found/);
  });

  it("fail naming the rule and the import, for a break of each rule", () => {
    const files = { ...LAWFUL };
    for (const violation of VIOLATIONS) {
      Object.assign(files, violation.extra ?? {}, { [violation.file]: violation.text });
    }
    const run = cruise(files);
    assert.notEqual(run.status, 0, run.output);
    for (const violation of VIOLATIONS) {
      assert.ok(
        run.output.includes(`error ${violation.rule}: ${violation.reported}`),
        `expected "${violation.rule}: ${violation.reported}" in:\n${run.output}`,
      );
    }
    assert.match(run.output, new RegExp(`x ${VIOLATIONS.length} dependency violations`));
  });
});
