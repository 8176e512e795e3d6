// .gitlab-ci.yml: its structure (jobs, stacks, images, manual prod) and what its scripts really
// do, run in bash with stub `pulumi`, `curl` and `npm` that record their calls.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { pinnedImageError } from "../../config/validators";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const CI_FILE = path.join(REPO_ROOT, ".gitlab-ci.yml");
const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));

/** Top-level keys that are not jobs. */
const GLOBAL_KEYS = new Set([
  "default",
  "include",
  "stages",
  "variables",
  "workflow",
  "image",
  "services",
  "cache",
  "before_script",
  "after_script",
  "spec",
]);

type Job = Record<string, any>;

function isPlainObject(value: unknown): value is Record<string, any> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** GitLab's `extends`: hashes merge deeply, everything else (arrays too) is replaced. */
function deepMerge(base: Job, over: Job): Job {
  const out: Job = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isPlainObject(out[key]) && isPlainObject(value) ? deepMerge(out[key], value) : value;
  }
  return out;
}

function resolveJob(doc: Record<string, any>, name: string): Job {
  const job = doc[name];
  assert.ok(isPlainObject(job), `${name}: expected a job mapping`);
  const parents: string[] = job.extends === undefined ? [] : [job.extends].flat();
  const own: Job = { ...job };
  delete own.extends;
  const inherited = parents.reduce<Job>(
    (merged, parent) => deepMerge(merged, resolveJob(doc, parent)),
    {},
  );
  return deepMerge(inherited, own);
}

function lines(value: unknown): string[] {
  if (value === undefined) return [];
  return [value].flat(Infinity as 1).map(String);
}

/** What the runner executes: before_script (job or default), then script. */
function scriptOf(doc: Record<string, any>, job: Job): string[] {
  const before = job.before_script ?? doc.default?.before_script ?? doc.before_script;
  return [...lines(before), ...lines(job.script)];
}

/** One variable set per job instance: each `parallel.matrix` combination, or the job's own. */
function instancesOf(job: Job): Record<string, string>[] {
  const own: Record<string, string> = { ...(job.variables ?? {}) };
  const matrix: Record<string, string | string[]>[] | undefined = job.parallel?.matrix;
  if (!matrix) return [own];
  return matrix.flatMap((entry) =>
    Object.entries(entry).reduce<Record<string, string>[]>(
      (combos, [key, values]) =>
        combos.flatMap((combo) => [values].flat().map((value) => ({ ...combo, [key]: value }))),
      [{ ...own }],
    ),
  );
}

function imageName(image: unknown): string | undefined {
  if (image === undefined) return undefined;
  return typeof image === "string" ? image : (image as { name: string }).name;
}

const doc: Record<string, any> = parse(fs.readFileSync(CI_FILE, "utf8"));
const jobNames = Object.keys(doc).filter((key) => !GLOBAL_KEYS.has(key) && !key.startsWith("."));
const jobs = Object.fromEntries(jobNames.map((name) => [name, resolveJob(doc, name)]));
const stackFiles = fs
  .readdirSync(REPO_ROOT)
  .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
  .filter((stack): stack is string => stack !== undefined)
  .sort();

const HAS_BASH = spawnSync("bash", ["-c", "true"]).status === 0;

// ---------------------------------------------------------------------------------------------
// Running job scripts with stubs

interface JobRun {
  status: number | null;
  output: string;
  /** argv of every `pulumi` call. */
  pulumi: string[][];
  /** argv of every `curl` call, and the note body each one posted. */
  curl: { args: string[]; body?: string }[];
}

const STUBS = {
  pulumi: `#!/bin/bash
printf '%s\\0' "$@" >> "$STUB_LOG/pulumi.$$"
case "$1" in
  whoami) echo "test-user" ;;
  preview|up) cat "$FAKE_PULUMI_OUTPUT"; exit "$FAKE_PULUMI_STATUS" ;;
esac
`,
  curl: `#!/bin/bash
n=$(ls "$STUB_LOG" | grep -c '^curl' || true)
printf '%s\\0' "$@" > "$STUB_LOG/curl.$n.args"
prev=""
for arg in "$@"; do
  if [ "$prev" = "--data-urlencode" ] && [ "\${arg#body@}" != "$arg" ]; then
    cp "\${arg#body@}" "$STUB_LOG/curl.$n.body"
  fi
  prev="$arg"
done
exit "$FAKE_CURL_STATUS"
`,
  npm: "#!/bin/bash\nexit 0\n",
};

function runJob(
  name: string,
  variables: Record<string, string>,
  fake: { output: string; status?: number; curlStatus?: number; noteToken?: string },
): JobRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-ci-"));
  try {
    const bin = path.join(dir, "bin");
    const log = path.join(dir, "log");
    const work = path.join(dir, "work");
    for (const folder of [bin, log, work]) fs.mkdirSync(folder);
    for (const [tool, text] of Object.entries(STUBS)) {
      fs.writeFileSync(path.join(bin, tool), text, { mode: 0o755 });
    }
    fs.writeFileSync(path.join(dir, "pulumi-output.txt"), fake.output);

    const globals = Object.fromEntries(
      Object.entries<string>(doc.variables ?? {}).filter(([, value]) => !value.includes("$")),
    );
    const env: Record<string, string> = {
      PATH: `${bin}:/usr/bin:/bin`,
      HOME: dir,
      STUB_LOG: log,
      FAKE_PULUMI_OUTPUT: path.join(dir, "pulumi-output.txt"),
      FAKE_PULUMI_STATUS: String(fake.status ?? 0),
      FAKE_CURL_STATUS: String(fake.curlStatus ?? 0),
      CI_PROJECT_DIR: work,
      CI_API_V4_URL: "https://gitlab.example.com/api/v4",
      CI_PROJECT_ID: "42",
      CI_MERGE_REQUEST_IID: "7",
      CI_JOB_URL: "https://gitlab.example.com/group/project/-/jobs/1001",
      CI_COMMIT_SHORT_SHA: "abc1234",
      CI_PIPELINE_SOURCE: "merge_request_event",
      ...globals,
      ...variables,
      ...(fake.noteToken === undefined ? {} : { MR_NOTE_TOKEN: fake.noteToken }),
    };
    // The runner's bash shell runs the job's commands in one session with these options.
    const script = ["set -eo pipefail", ...scriptOf(doc, jobs[name])].join("\n");
    const result = spawnSync("bash", ["-c", script], { cwd: work, env, encoding: "utf8" });

    const entries = fs.readdirSync(log).sort();
    const argv = (file: string) =>
      fs.readFileSync(path.join(log, file), "utf8").split("\0").slice(0, -1);
    // One file per `pulumi` process, holding its argv.
    const pulumi = entries.filter((file) => file.startsWith("pulumi.")).map(argv);
    const curl = entries
      .filter((file) => /^curl\.\d+\.args$/.test(file))
      .map((file) => {
        const bodyFile = path.join(log, file.replace(".args", ".body"));
        return {
          args: argv(file),
          body: fs.existsSync(bodyFile) ? fs.readFileSync(bodyFile, "utf8") : undefined,
        };
      });
    return { status: result.status, output: result.stdout + result.stderr, pulumi, curl };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function stackOf(args: string[]): string | undefined {
  const index = args.indexOf("--stack");
  return index < 0 ? undefined : args[index + 1];
}

/** Every `pulumi <command>` the jobs run, with the stack, from running each job instance. */
function pulumiCalls(command: "preview" | "up") {
  const calls: { job: string; stack?: string; args: string[] }[] = [];
  for (const name of jobNames) {
    for (const variables of instancesOf(jobs[name])) {
      const run = runJob(name, variables, { output: "ok\n", noteToken: "" });
      for (const args of run.pulumi.filter((a) => a[0] === command)) {
        calls.push({ job: name, stack: stackOf(args), args });
      }
    }
  }
  return calls;
}

// ---------------------------------------------------------------------------------------------

describe(".gitlab-ci.yml", function () {
  this.timeout(60000);

  it("parses, and every job belongs to a declared stage", () => {
    assert.ok(jobNames.length > 0, "no jobs found");
    const stages: string[] = doc.stages;
    for (const name of jobNames) {
      assert.ok(stages.includes(jobs[name].stage), `${name}: stage ${jobs[name].stage}`);
      assert.ok(lines(jobs[name].script).length > 0, `${name} has no script`);
    }
  });

  it("references only npm scripts that exist in package.json", () => {
    const used: string[] = [];
    for (const name of jobNames) {
      for (const line of scriptOf(doc, jobs[name])) {
        for (const match of line.matchAll(
          /\bnpm\s+(?:run(?:-script)?\s+([\w:.-]+)|(test|start|stop|restart)\b)/g,
        )) {
          used.push(match[1] ?? match[2]);
        }
      }
    }
    assert.ok(used.includes("test"), "no job runs npm test");
    for (const script of used) {
      assert.ok(script in PACKAGE.scripts, `npm script "${script}" is not in package.json`);
    }
  });

  it("installs with npm ci (the lockfile) before it tests", () => {
    const testJobs = jobNames.filter((name) =>
      scriptOf(doc, jobs[name]).some((line) => /\bnpm (run )?test\b/.test(line)),
    );
    assert.ok(testJobs.length > 0);
    for (const name of testJobs) {
      const script = scriptOf(doc, jobs[name]);
      const install = script.findIndex((line) => /^npm ci\b/.test(line));
      const test = script.findIndex((line) => /\bnpm (run )?test\b/.test(line));
      assert.ok(install >= 0 && install < test, `${name}: npm ci must come before npm test`);
    }
  });

  it("has valid shell in every job", function () {
    if (!HAS_BASH) this.skip();
    for (const name of jobNames) {
      const result = spawnSync("bash", ["-n"], {
        input: scriptOf(doc, jobs[name]).join("\n"),
        encoding: "utf8",
      });
      assert.equal(result.status, 0, `${name}: ${result.stderr}`);
    }
  });

  it("previews every stack that has a Pulumi.<stack>.yaml, with diff and policy pack", function () {
    if (!HAS_BASH) this.skip();
    const previews = pulumiCalls("preview");
    assert.deepEqual([...new Set(previews.map((call) => call.stack))].sort(), stackFiles);
    assert.ok(stackFiles.includes("dev") && stackFiles.includes("prod"));
    assert.ok(fs.existsSync(path.join(REPO_ROOT, "policy", "PulumiPolicy.yaml")));
    for (const call of previews) {
      assert.ok(call.args.includes("--diff"), `${call.job}: ${call.args.join(" ")}`);
      const pack = call.args.indexOf("--policy-pack");
      assert.equal(call.args[pack + 1], "policy", `${call.job}: ${call.args.join(" ")}`);
    }
  });

  it("runs pulumi up for every stack, non-interactively, with the policy pack", function () {
    if (!HAS_BASH) this.skip();
    const ups = pulumiCalls("up");
    assert.deepEqual([...new Set(ups.map((call) => call.stack))].sort(), stackFiles);
    for (const call of ups) {
      assert.ok(call.args.includes("--yes"), `${call.job}: ${call.args.join(" ")}`);
      assert.equal(call.args[call.args.indexOf("--policy-pack") + 1], "policy");
    }
  });

  it("runs previews on merge requests only and pulumi up on the default branch only", () => {
    for (const name of jobNames) {
      const script = scriptOf(doc, jobs[name]).join("\n");
      const rules: { if?: string; when?: string }[] = jobs[name].rules ?? [];
      const running = rules.filter((rule) => rule.when !== "never");
      if (/pulumi preview/.test(script)) {
        assert.ok(running.length > 0, `${name}: no rules`);
        for (const rule of running) {
          assert.match(rule.if ?? "", /\$CI_PIPELINE_SOURCE == "merge_request_event"/, name);
        }
      }
      if (/pulumi up/.test(script)) {
        assert.ok(running.length > 0, `${name}: no rules`);
        for (const rule of running) {
          assert.match(rule.if ?? "", /\$CI_COMMIT_BRANCH == \$CI_DEFAULT_BRANCH/, name);
          assert.match(rule.if ?? "", /\$CI_PIPELINE_SOURCE != "merge_request_event"/, name);
        }
      }
    }
  });

  it("deploys dev automatically and prod only by a manual action, one up per stack at a time", () => {
    const upJobs = jobNames.filter((name) => /pulumi up/.test(scriptOf(doc, jobs[name]).join()));
    const byStack = new Map<string, Job>();
    for (const name of upJobs) {
      for (const variables of instancesOf(jobs[name])) byStack.set(variables.STACK, jobs[name]);
    }
    const manual = (job: Job) =>
      job.when === "manual" ||
      ((job.rules ?? []) as { when?: string }[])
        .filter((rule) => rule.when !== "never")
        .every((rule) => rule.when === "manual");
    assert.ok(byStack.has("dev") && byStack.has("prod"), `up jobs: ${[...byStack.keys()]}`);
    assert.equal(manual(byStack.get("dev")!), false, "dev must deploy automatically");
    assert.equal(manual(byStack.get("prod")!), true, "prod must wait for a manual action");
    // Manual jobs allow failure by default outside rules; prod must block, not be skipped.
    const prodRules: { when?: string; allow_failure?: boolean }[] = byStack.get("prod")!.rules;
    assert.ok(prodRules.every((rule) => rule.when === "never" || rule.allow_failure !== true));

    const groups = [...byStack.values()].map((job) => job.resource_group);
    assert.ok(groups.every((group) => typeof group === "string" && group.length > 0));
    assert.equal(new Set(groups).size, groups.length, "each stack needs its own resource_group");
    assert.deepEqual(byStack.get("prod")!.needs, ["up:dev"], "prod follows a successful dev up");
  });

  it("uses pinned images only", () => {
    const images = [doc.image, doc.default?.image, ...jobNames.map((name) => jobs[name].image)]
      .map(imageName)
      .filter((image): image is string => image !== undefined);
    assert.ok(images.length > 0, "no image set");
    for (const image of images) {
      assert.equal(pinnedImageError(image), undefined, `${image} is not pinned`);
    }
    assert.match(
      imageName(doc.default?.image) ?? "",
      /^pulumi\/pulumi-nodejs(-\d+)?:\d+\.\d+\.\d+$/,
    );
  });

  it("runs on the Node .ci/run tests on, with a Pulumi CLI at least as new as the SDK", () => {
    const image = imageName(doc.default?.image) ?? "";
    // pulumi/pulumi-nodejs-<major>:<CLI version> (pulumi/pulumi-docker-containers
    // .github/workflows/release.yml: pulumi-<sdk><suffix>:<PULUMI_VERSION>).
    const [, node, cli] = /^pulumi\/pulumi-nodejs-(\d+):(\d+\.\d+\.\d+)$/.exec(image) ?? [];
    const ciNode = /^NODE_MAJOR=(\d+)$/m.exec(
      fs.readFileSync(path.join(REPO_ROOT, ".ci", "run"), "utf8"),
    )?.[1];
    assert.ok(ciNode, ".ci/run sets no NODE_MAJOR");
    assert.equal(node, ciNode, `${image}: not the Node ${ciNode} image`);
    assert.ok(
      Number(node) >= Number(/^>=(\d+)$/.exec(PACKAGE.engines.node)?.[1]),
      PACKAGE.engines.node,
    );
    const sdk: string = PACKAGE.dependencies["@pulumi/pulumi"];
    assert.match(sdk, /^\d+\.\d+\.\d+$/, "the SDK is pinned");
    const parts = (version: string) => version.split(".").map(Number);
    const [a, b] = [parts(cli), parts(sdk)];
    const newer = a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
    assert.ok(newer >= 0, `image CLI ${cli} is older than @pulumi/pulumi ${sdk}`);
  });

  it("caches the Debian packages the test job's preflight installs, under the project", () => {
    const dir = String(doc.variables.APT_CACHE_DIR);
    assert.match(dir, /^\$CI_PROJECT_DIR\/\.cache\/apt$/);
    const testJobs = jobNames.filter((name) =>
      scriptOf(doc, jobs[name]).some((line) => /\bnpm (run )?test\b/.test(line)),
    );
    for (const name of testJobs) {
      const paths = [jobs[name].cache ?? []]
        .flat()
        .flatMap((cache: { paths?: string[] }) => cache.paths ?? []);
      assert.ok(paths.includes(".cache/apt/"), `${name} does not cache .cache/apt/`);
    }
    assert.match(PACKAGE.scripts.test, /^bash scripts\/preflight\.sh && /);
  });

  it("defines no secrets: they come from masked CI/CD variables", () => {
    const defined = [
      ...Object.keys(doc.variables ?? {}),
      ...jobNames.flatMap((name) => instancesOf(jobs[name]).flatMap((v) => Object.keys(v))),
    ];
    for (const name of defined) {
      assert.doesNotMatch(name, /TOKEN|PASSWORD|PASSPHRASE|SECRET|PRIVATE/i);
    }
    const text = fs.readFileSync(CI_FILE, "utf8");
    assert.doesNotMatch(text, /glpat-|pul-[0-9a-f]{20,}/, "a token literal is in the file");
    // CI_JOB_TOKEN cannot write notes; a project access token must.
    assert.doesNotMatch(text, /JOB-TOKEN|\$CI_JOB_TOKEN/);
  });

  it("caches npm and Pulumi plugins, never PULUMI_HOME's credentials", () => {
    const home = String(doc.variables.PULUMI_HOME).replace("$CI_PROJECT_DIR/", "");
    const paths = jobNames.flatMap((name) =>
      [jobs[name].cache ?? []].flat().flatMap((cache: { paths?: string[] }) => cache.paths ?? []),
    );
    assert.ok(paths.length > 0, "no cache");
    assert.ok(
      paths.some((p) => p.startsWith(`${home}/plugins`)),
      "plugins are not cached",
    );
    for (const cached of paths) {
      // `pulumi login` keeps the backend token in PULUMI_HOME/credentials.json.
      const normalized = cached.replace(/\/+$/, "");
      assert.ok(!home.startsWith(normalized), `${cached} would cache PULUMI_HOME itself`);
    }
  });

  describe("the merge-request preview job", () => {
    const previewJob = jobNames.find((name) =>
      /pulumi preview/.test(scriptOf(doc, jobs[name]).join()),
    )!;
    const diff = [
      "Previewing update (dev):",
      "  + kubernetes:core/v1:Secret hello-python-git-pull create",
      "Resources:",
      "    + 1 to create",
    ].join("\n");

    before(function () {
      if (!HAS_BASH) this.skip();
    });

    it("posts the diff to the merge request and passes when the preview passes", () => {
      const run = runJob(previewJob, { STACK: "dev" }, { output: diff, noteToken: "note-token" });
      assert.equal(run.status, 0, run.output);
      assert.equal(run.curl.length, 1, run.output);
      const { args, body } = run.curl[0];
      assert.ok(
        args.includes("https://gitlab.example.com/api/v4/projects/42/merge_requests/7/notes"),
      );
      assert.ok(args.includes("PRIVATE-TOKEN: note-token"));
      assert.match(body!, /stack `dev`: succeeded/);
      assert.ok(body!.includes(diff), body);
      assert.ok(body!.includes("abc1234"));
      assert.ok(body!.includes("https://gitlab.example.com/group/project/-/jobs/1001"));
      assert.ok(run.output.includes("+ 1 to create"), "the preview is also in the job log");
    });

    it("posts a failed preview (policy violations) and fails the job with its exit code", () => {
      const output = `${diff}\nPolicies:\n    ❌ tekton-gitlab@v0.1.0 (local)\n        - [mandatory]  tekton-step-image-pinned\n`;
      const run = runJob(
        previewJob,
        { STACK: "prod" },
        { output, status: 255, noteToken: "note-token" },
      );
      assert.equal(run.status, 255);
      assert.equal(run.curl.length, 1);
      assert.match(run.curl[0].body!, /stack `prod`: FAILED \(exit 255\)/);
      assert.ok(run.curl[0].body!.includes("tekton-step-image-pinned"));
    });

    it("truncates a huge diff, keeping its start and its summary", () => {
      const total = 5000;
      const output = Array.from({ length: total }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
      const run = runJob(previewJob, { STACK: "dev" }, { output, noteToken: "note-token" });
      assert.equal(run.status, 0, run.output);
      const body = run.curl[0].body!;
      const max = Number(doc.variables.PREVIEW_NOTE_MAX_LINES);
      assert.ok(body.split("\n").length < max + 20, `note has ${body.split("\n").length} lines`);
      assert.match(body, /^line 1$/m);
      assert.match(body, new RegExp(`^line ${total}$`, "m"));
      assert.doesNotMatch(body, new RegExp(`^line ${total / 2}$`, "m"));
      assert.match(body, new RegExp(`${total - max} lines left out`));
      assert.ok(run.output.includes(`line ${total / 2}\n`), "the job log keeps everything");
    });

    it("skips the note, but keeps the preview's result, without a note token", () => {
      const run = runJob(previewJob, { STACK: "dev" }, { output: diff, status: 1, noteToken: "" });
      assert.equal(run.status, 1);
      assert.equal(run.curl.length, 0);
      assert.match(run.output, /MR_NOTE_TOKEN is not set/);
    });

    it("fails, naming the token, when GitLab refuses the note", () => {
      const run = runJob(
        previewJob,
        { STACK: "dev" },
        { output: diff, noteToken: "note-token", curlStatus: 22 },
      );
      assert.notEqual(run.status, 0);
      assert.match(run.output, /MR_NOTE_TOKEN is a project access token/);
    });
  });
});
