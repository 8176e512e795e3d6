// scripts/preflight.sh, the first step of `npm test` and `npm run try`: on a machine that lacks
// the tools the tests run, it installs them as root (Debian) or, as anyone else, stops before
// anything runs with one message and the one command that installs them. Run here with a PATH
// that holds only bash and stubs.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const PREFLIGHT = path.join(REPO_ROOT, "scripts", "preflight.sh");
const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
const which = (command: string) =>
  spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim();
const BASH = which("bash");
const SETPRIV = which("setpriv");
const IS_ROOT = process.getuid?.() === 0;
const HAS_GIT_USER = spawnSync("id", ["git"]).status === 0;

/** Every tool the preflight looks for, with its Debian package, in its order. */
const TOOLS: [string, string][] = [
  ["curl", "curl"],
  ["openssl", "openssl"],
  ["jq", "jq"],
  ["sshd", "openssh-server"],
  ["ssh", "openssh-client"],
  ["busybox", "busybox"],
  ["setpriv", "util-linux"],
  ["git", "git"],
  ["kubectl", "kubernetes-client"],
  ["shellcheck", "shellcheck"],
];
const USERADD = "useradd --system --home-dir /nonexistent --shell /bin/sh git";

let dir: string;
let bin: string;

function stub(name: string, text: string): void {
  fs.writeFileSync(path.join(bin, name), `#!${BASH}\n${text}\n`, { mode: 0o755 });
}

/** Runs `command` with bash, PATH = only `bin`, sshd looked for in `bin`; as `nobody` if asked. */
function run(command: string, asNobody: boolean, env: Record<string, string> = {}) {
  const argv = [BASH, "-c", command];
  const [file, ...args] = asNobody
    ? [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups", ...argv]
    : argv;
  return spawnSync(file, args, {
    cwd: REPO_ROOT,
    env: { PATH: bin, PREFLIGHT_SSHD: path.join(bin, "sshd"), HOME: dir, ...env },
    encoding: "utf8",
  });
}

describe("preflight (scripts/preflight.sh)", function () {
  this.timeout(30000);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"));
    fs.chmodSync(dir, 0o755);
    bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { mode: 0o755 });
    fs.symlinkSync(BASH, path.join(bin, "bash"));
    // What `npm test` would run after the preflight: it must never start.
    stub("npm", `echo "$@" >> ${dir}/npm.calls`);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("is the first step of npm test and npm run try", () => {
    for (const script of ["test", "try"]) {
      assert.match(PACKAGE.scripts[script], /^bash scripts\/preflight\.sh && /, script);
    }
    assert.equal(PACKAGE.scripts.preflight, "bash scripts/preflight.sh");
  });

  it("passes quietly on this machine, which has every tool", () => {
    const result = spawnSync(BASH, [PREFLIGHT], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout + result.stderr, "");
  });

  it("as a non-root user, stops npm test before anything runs, with one message and one install line", function () {
    if (IS_ROOT && !SETPRIV) this.skip();
    const result = run(PACKAGE.scripts.test, IS_ROOT);
    assert.equal(result.status, 1, result.stderr);
    assert.ok(!fs.existsSync(path.join(dir, "npm.calls")), "npm ran after the preflight");
    assert.equal(result.stdout, "");
    const missing = [...TOOLS.map(([tool]) => tool), ...(HAS_GIT_USER ? [] : ["the user git"])];
    const install =
      "apt-get update && apt-get install -y --no-install-recommends " +
      TOOLS.map(([, pkg]) => pkg).join(" ") +
      (HAS_GIT_USER ? "" : ` && ${USERADD}`);
    assert.equal(
      result.stderr,
      `preflight: the tests need ${missing.join(", ")}, missing on this machine. Not root, so ` +
        "nothing was installed: run this as root (or run this npm command as root, which does):\n" +
        `  ${install}\n`,
    );
  });

  it("names only what is missing", function () {
    if (IS_ROOT && !SETPRIV) this.skip();
    for (const [tool] of TOOLS.filter(([tool]) => !["jq", "kubectl"].includes(tool))) {
      stub(tool, "exit 0");
    }
    const result = run(`bash ${PREFLIGHT}`, IS_ROOT);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^preflight: the tests need jq, kubectl(, the user git)?, missing/);
    assert.match(
      result.stderr,
      /\n {2}apt-get update && apt-get install -y --no-install-recommends jq kubernetes-client( && useradd [^\n]+)?\n$/,
    );
    assert.equal(result.stderr.split("\n").length, 3, result.stderr);
  });

  it("as root, runs apt-get update once and one install of the missing packages, into APT_CACHE_DIR", function () {
    if (!IS_ROOT) this.skip();
    for (const [tool] of TOOLS.filter(([tool]) => !["jq", "sshd", "shellcheck"].includes(tool))) {
      stub(tool, "exit 0");
    }
    fs.symlinkSync(which("mkdir"), path.join(bin, "mkdir"));
    // Installing a package gives its tool (stubs, in `bin`); every call is recorded.
    stub(
      "apt-get",
      [
        `printf '%s\\n' "$*" >> ${dir}/apt.calls`,
        'for arg in "$@"; do',
        '  case "$arg" in',
        `    jq) printf 'exit 0\\n' > ${bin}/jq; ${which("chmod")} +x ${bin}/jq ;;`,
        `    openssh-server) printf 'exit 0\\n' > ${bin}/sshd; ${which("chmod")} +x ${bin}/sshd ;;`,
        `    shellcheck) printf 'exit 0\\n' > ${bin}/shellcheck; ${which("chmod")} +x ${bin}/shellcheck ;;`,
        "  esac",
        "done",
      ].join("\n"),
    );
    stub("useradd", `echo "$@" >> ${dir}/useradd.calls`);
    const cache = path.join(dir, "apt-cache");
    const result = run(`bash ${PREFLIGHT}`, false, { APT_CACHE_DIR: cache });
    const options = `-o Dir::Cache::Archives=${cache} -o APT::Keep-Downloaded-Packages=true`;
    assert.deepEqual(fs.readFileSync(path.join(dir, "apt.calls"), "utf8").split("\n"), [
      `${options} update -qq`,
      `${options} install -y -qq --no-install-recommends jq openssh-server shellcheck`,
      "",
    ]);
    assert.ok(fs.statSync(path.join(cache, "partial")).isDirectory());
    assert.match(
      result.stderr,
      /^preflight: installing jq openssh-server shellcheck \(for jq, sshd, shellcheck/,
    );
    if (HAS_GIT_USER) {
      // The machine's git user was found: nothing to add, and everything is there afterwards.
      assert.equal(result.status, 0, result.stderr);
      assert.ok(!fs.existsSync(path.join(dir, "useradd.calls")));
    } else {
      // The stub adds no user, so the second look still misses it, and says so.
      assert.equal(
        fs.readFileSync(path.join(dir, "useradd.calls"), "utf8"),
        "--system --home-dir /nonexistent --shell /bin/sh git\n",
      );
      assert.equal(result.status, 1);
      assert.match(result.stderr, /still missing after the install: the user git/);
    }
  });

  it("as root without apt-get, installs nothing and says what to install", function () {
    if (!IS_ROOT) this.skip();
    const result = run(`bash ${PREFLIGHT}`, false);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /No apt-get here \(not Debian\?\)/);
    assert.match(
      result.stderr,
      /\n {2}apt-get update && apt-get install -y --no-install-recommends curl /,
    );
  });
});
