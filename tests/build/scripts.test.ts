// Runs the Tasks' step scripts on this machine's /bin/sh, as Tekton would (params substituted
// into env only), against stub commands or real local git repositories.
import * as assert from "node:assert/strict";
import { requireTool } from "../harness/tools";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { sshCloneUrl } from "../../tekton/core/names";
import { generateImageTagTask } from "../../tekton/build/tagTask";
import { patchDeploymentTask, PUSH_ATTEMPTS } from "../../tekton/build/patchTask";
import { SOURCE_TIP_REF } from "../../tekton/build/common";
import { git as realRepoGit, realGit, SourceRepo, sourceRepo } from "./gitRepos";
import { appAndContext, removeTempDirs, runScriptStep, stub, tempDir } from "./helpers";

const SHA = "0123456789abcdef0123456789abcdef01234567";

/** A run of the real tag step against `repo` (a local path) in a fresh source workspace. */
async function realTagRun(
  repo: SourceRepo,
  revision: string,
  extraEnv: Record<string, string> = {},
  branch = "main",
) {
  const { app, ctx } = appAndContext();
  const root = tempDir("tag-run");
  const home = path.join(root, "home");
  fs.mkdirSync(home);
  // Secret git-pull as the tag task's workspace; the repository is a local path, so no ssh.
  const gitPull = path.join(root, "git-pull");
  fs.mkdirSync(gitPull);
  fs.writeFileSync(path.join(gitPull, "ssh-privatekey"), "not a real pull key\n");
  fs.writeFileSync(path.join(gitPull, "known_hosts"), "gitlab ssh-ed25519 AAAA\n");
  const results = path.join(root, "results");
  const source = path.join(root, "source");
  fs.mkdirSync(results);
  fs.mkdirSync(source);
  const run = await runScriptStep(generateImageTagTask(app, ctx), "clone-and-tag", {
    params: {
      "source-url": repo.remote,
      revision,
      "source-branch": branch,
      "registry-host": "registry.example.com",
      "image-repository": "team/service",
    },
    workspaces: { source, "git-pull-ssh": gitPull },
    results,
    home,
    extraEnv,
  });
  const result = (name: string) =>
    run.code === 0 ? fs.readFileSync(path.join(results, name), "utf8") : "";
  return { ...run, source, imageUrl: result("image-url"), commit: result("commit-sha") };
}

describe("step scripts", function () {
  this.timeout(20000);
  after(function () {
    // Removing every real repository the tests made is slow on a loaded shared disk (it took
    // over 20 s twice under load average 7); a cleanup is not what these tests time.
    this.timeout(180_000);
    removeTempDirs();
  });

  describe("generate-image-tag", () => {
    const { app, ctx } = appAndContext();
    const task = generateImageTagTask(app, ctx);

    /** An empty HOME, Secret git-pull as its workspace, a stub git logging its calls, results. */
    function setup(options: { knownHosts?: boolean; fetchByIdError?: string } = {}) {
      const root = tempDir("tag");
      const home = path.join(root, "home");
      fs.mkdirSync(home);
      const gitPull = path.join(root, "git-pull");
      fs.mkdirSync(gitPull);
      fs.writeFileSync(path.join(gitPull, "ssh-privatekey"), "not a real pull key\n");
      if (options.knownHosts !== false) {
        fs.writeFileSync(path.join(gitPull, "known_hosts"), "gitlab ssh-ed25519 AAAA\n");
      }
      const bin = path.join(root, "bin");
      const log = path.join(root, "git.log");
      stub(
        bin,
        "git",
        [
          `printf '%s|%s\\n' "$*" "$GIT_SSH_COMMAND" >> ${log}`,
          options.fetchByIdError
            ? `case "$*" in *" origin $FAKE_HEAD "*) printf '%s\\n' "${options.fetchByIdError}" >&2; exit 128 ;; esac`
            : "",
          `[ "$1 $2" = "rev-parse HEAD" ] && printf '%s\\n' "$FAKE_HEAD"`,
          `[ "$1 $2" = "show -s" ] && printf '%s\\n' 20261126093000`,
          "exit 0",
        ].join("\n"),
      );
      const results = path.join(root, "results");
      fs.mkdirSync(results);
      const source = path.join(root, "source");
      fs.mkdirSync(source);
      const calls = () =>
        fs.existsSync(log)
          ? fs
              .readFileSync(log, "utf8")
              .trim()
              .split("\n")
              .map((line) => line.split("|"))
          : [];
      return { root, home, gitPull, bin, results, source, calls };
    }

    const params = (revision: string, sourceUrl = sshCloneUrl(ctx.gitSsh, app.sourceProject)) => ({
      "source-url": sourceUrl,
      revision,
      "source-branch": "main",
      "registry-host": "registry.example.com:5000",
      "image-repository": "team/service",
    });

    /** The tag step's inputs against `setup()`'s stubs; the stub git reports `head` as HEAD. */
    const tagInputs = (
      env: ReturnType<typeof setup>,
      stepParams: Record<string, string>,
      head = SHA,
    ) => ({
      params: stepParams,
      workspaces: { source: env.source, "git-pull-ssh": env.gitPull },
      results: env.results,
      home: env.home,
      bin: env.bin,
      extraEnv: { FAKE_HEAD: head },
    });

    it("fetches the commit with its history and the branch tip, and names the image by commit", async () => {
      const env = setup();
      const run = await runScriptStep(task, "clone-and-tag", tagInputs(env, params(SHA)));
      assert.equal(run.code, 0, run.stderr);
      const imageUrl = fs.readFileSync(path.join(env.results, "image-url"), "utf8");
      assert.match(
        imageUrl,
        new RegExp(
          `^registry\\.example\\.com:5000/team/service:20261126093000-${SHA}-[0-9a-f]{8}$`,
        ),
      );
      assert.equal(fs.readFileSync(path.join(env.results, "commit-sha"), "utf8"), SHA);
      const commands = env.calls().map(([args]) => args);
      assert.deepEqual(commands, [
        "check-ref-format --branch main",
        `config --global --add safe.directory ${env.source}/src`,
        "init --quiet",
        "remote add origin git@gitlab-gitlab-shell.gitlab.svc.cluster.local:root/hello-python.git",
        `fetch --quiet origin ${SHA} +refs/heads/main:${SOURCE_TIP_REF}`,
        `checkout --quiet --detach ${SHA}`,
        "rev-parse HEAD",
        "show -s --format=%cd --date=format-local:%Y%m%d%H%M%S HEAD",
      ]);
    });

    it("takes the run suffix from the TaskRun's UID and refuses anything else", async () => {
      const env = setup();
      const uid = "9f0e1d2c-3b4a-4c5d-8e6f-708192a3b4c5";
      const run = await runScriptStep(task, "clone-and-tag", {
        ...tagInputs(env, params(SHA)),
        uid,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match(fs.readFileSync(path.join(env.results, "image-url"), "utf8"), /-9f0e1d2c$/);
      const bad = await runScriptStep(task, "clone-and-tag", {
        ...tagInputs(setup(), params(SHA)),
        uid: "",
      });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /the TaskRun's UID must be a UUID, got: ''/);
    });

    it("gives git only the git-pull key, as a private copy, and its pinned host keys", async () => {
      const env = setup();
      const log = path.join(env.root, "ssh.log");
      stub(
        env.bin,
        "git",
        `KEY="$(printf '%s' "$GIT_SSH_COMMAND" | sed 's/.* -i \\([^ ]*\\) .*/\\1/')"
[ "$1" = fetch ] && printf '%s|%s|%s\\n' "$GIT_SSH_COMMAND" "$(stat -c %a "$KEY")" "$(cat "$KEY")" >> ${log}
[ "$1 $2" = "rev-parse HEAD" ] && printf '%s\\n' "$FAKE_HEAD"
exit 0`,
      );
      const run = await runScriptStep(task, "clone-and-tag", tagInputs(env, params(SHA)));
      assert.equal(run.code, 0, run.stderr);
      const [command, mode, key] = fs.readFileSync(log, "utf8").trim().split("|");
      assert.match(
        command,
        new RegExp(
          `^ssh -F none -i \\S+ -o IdentitiesOnly=yes -o UserKnownHostsFile=${env.gitPull}/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes$`,
        ),
      );
      assert.ok(!command.includes(env.gitPull + "/ssh-privatekey"), "uses a private copy");
      assert.equal(mode, "600");
      assert.equal(key, "not a real pull key");
      // Nothing relies on credential init: no ssh config or key in HOME.
      assert.ok(!fs.existsSync(path.join(env.home, ".ssh")));
    });

    it("hands an ssh:// URL with a custom port to git unchanged", async () => {
      const env = setup();
      const url = sshCloneUrl({ host: "gitlab.example.com", port: 2222 }, "root/hello-python");
      const run = await runScriptStep(task, "clone-and-tag", tagInputs(env, params(SHA, url)));
      assert.equal(run.code, 0, run.stderr);
      assert.ok(
        env.calls().some(([args]) => args === `remote add origin ${url}`),
        JSON.stringify(env.calls()),
      );
    });

    it("falls back to fetching the branches when the server refuses a fetch by id", async () => {
      const env = setup({ fetchByIdError: `fatal: remote error: upload-pack: not our ref ${SHA}` });
      const run = await runScriptStep(task, "clone-and-tag", tagInputs(env, params(SHA)));
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /the server refused a fetch by commit id/);
      const commands = env.calls().map(([args]) => args);
      assert.ok(commands.includes("fetch --quiet origin +refs/heads/*:refs/remotes/origin/*"));
      assert.ok(commands.includes(`update-ref ${SOURCE_TIP_REF} refs/remotes/origin/main`));
      assert.ok(commands.includes(`checkout --quiet --detach ${SHA}`));
    });

    it("reports a failed host key check as it is, without a second fetch", async () => {
      const env = setup({
        fetchByIdError:
          "Host key verification failed.\nfatal: Could not read from remote repository.",
      });
      const run = await runScriptStep(task, "clone-and-tag", tagInputs(env, params(SHA)));
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /Host key verification failed\./);
      assert.match(
        run.stderr,
        /fetching commit .* and branch main from .* failed; git said why above/,
      );
      assert.doesNotMatch(run.stderr, /refused a fetch by commit id/);
      const fetches = env.calls().filter(([args]) => args.startsWith("fetch"));
      assert.equal(fetches.length, 1, JSON.stringify(fetches));
    });

    it("refuses a source-branch that is not a branch name before fetching", async () => {
      const repo = sourceRepo();
      const sha = repo.commit("only", "2026-11-26T09:00:00Z");
      repo.push();
      for (const branch of ["", "-x", "a..b", "main:evil", "*"]) {
        const run = await realTagRun(repo, sha, {}, branch);
        assert.notEqual(run.code, 0, branch);
        assert.match(run.stderr, /source-branch must be a git branch name/);
        assert.ok(!fs.existsSync(path.join(run.source, "src")), branch);
      }
    });

    it("accepts a 64-hex commit id (SHA-256 repository), as the trigger's filter does", async () => {
      const sha256 = SHA + "0123456789abcdef01234567";
      const env = setup();
      const run = await runScriptStep(
        task,
        "clone-and-tag",
        tagInputs(env, params(sha256), sha256),
      );
      assert.equal(run.code, 0, run.stderr);
      assert.ok(env.calls().some(([args]) => args === "init --quiet --object-format=sha256"));
      assert.ok(env.calls().some(([args]) => args === `checkout --quiet --detach ${sha256}`));
      assert.match(
        fs.readFileSync(path.join(env.results, "image-url"), "utf8"),
        new RegExp(`:20261126093000-${sha256}-[0-9a-f]{8}$`),
      );
    });

    for (const revision of [
      "main",
      "--upload-pack=touch /tmp/pwned",
      SHA.slice(0, 12),
      SHA + "0",
      "",
    ]) {
      it(`refuses revision '${revision}' before running git`, async () => {
        const env = setup();
        const run = await runScriptStep(task, "clone-and-tag", tagInputs(env, params(revision)));
        assert.notEqual(run.code, 0);
        assert.match(run.stderr, /revision must be a full/);
        assert.deepEqual(env.calls(), []);
      });
    }

    it("refuses a source-url git would read as an option", async () => {
      const env = setup();
      const run = await runScriptStep(
        task,
        "clone-and-tag",
        tagInputs(env, params(SHA, "--upload-pack=evil")),
      );
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /source-url must be a git URL/);
      assert.deepEqual(env.calls(), []);
    });

    it("fails with a pointer to the git-pull Secret when its workspace holds no known_hosts", async () => {
      const env = setup({ knownHosts: false });
      const run = await runScriptStep(task, "clone-and-tag", tagInputs(env, params(SHA)));
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /known_hosts: bind Secret git-pull .*workspace/);
      assert.ok(!env.calls().some(([args]) => args.startsWith("init")));
    });

    describe("against real repositories", () => {
      it("names the image <committer date, UTC>-<commit>-<run>: commit and date for every run", async () => {
        const repo = sourceRepo();
        const sha = repo.commit("first", "2026-11-26T09:30:00+02:00");
        repo.push();
        const first = await realTagRun(repo, sha);
        assert.equal(first.code, 0, first.stderr);
        const tag = new RegExp(
          `^registry\\.example\\.com/team/service:20261126073000-${sha}-([0-9a-f]{8})$`,
        );
        assert.match(first.imageUrl, tag);
        assert.equal(first.commit, sha);
        const again = await realTagRun(repo, sha);
        assert.match(again.imageUrl, tag);
        // Each run's own suffix: a rebuild never moves a tag off a deployed digest.
        assert.notEqual(again.imageUrl, first.imageUrl);
      });

      it("leaves the commit's whole history and the branch tip in the checkout", async () => {
        const repo = sourceRepo();
        const a = repo.commit("a", "2026-11-26T09:00:00Z");
        const b = repo.commit("b", "2026-11-26T10:00:00Z");
        const c = repo.commit("c", "2026-11-26T11:00:00Z");
        repo.push();
        const run = await realTagRun(repo, b);
        assert.equal(run.code, 0, run.stderr);
        const checkout = path.join(run.source, "src");
        assert.equal(realRepoGit(checkout, "rev-parse", "HEAD"), b);
        assert.equal(realRepoGit(checkout, "rev-parse", SOURCE_TIP_REF), c);
        assert.equal(realRepoGit(checkout, "merge-base", "--is-ancestor", a, b), "");
        assert.ok(!fs.existsSync(path.join(checkout, ".git", "shallow")));
      });

      it("clones a commit of a SHA-256 repository", async () => {
        const repo = sourceRepo("sha256");
        const sha = repo.commit("first", "2026-11-26T09:30:00Z");
        repo.push();
        assert.equal(sha.length, 64);
        const run = await realTagRun(repo, sha);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.commit, sha);
        assert.match(run.imageUrl, new RegExp(`:20261126093000-${sha}-[0-9a-f]{8}$`));
        const checkout = path.join(run.source, "src");
        assert.equal(realRepoGit(checkout, "rev-parse", "--show-object-format"), "sha256");
        assert.equal(fs.readFileSync(path.join(checkout, "file"), "utf8"), "first 0\n");
      });

      it("falls back to the branches when git refuses an unadvertised commit (protocol v0)", async () => {
        const repo = sourceRepo();
        const older = repo.commit("older", "2026-11-26T09:00:00Z");
        repo.commit("tip", "2026-11-26T10:00:00Z");
        repo.push();
        // Under protocol v0 git asks only for advertised refs unless the server allows more:
        // fetch-pack reports "Server does not allow request for unadvertised object".
        const run = await realTagRun(repo, older, {
          GIT_CONFIG_COUNT: "1",
          GIT_CONFIG_KEY_0: "protocol.version",
          GIT_CONFIG_VALUE_0: "0",
        });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /does not allow request for unadvertised object/);
        assert.match(run.stderr, /the server refused a fetch by commit id; fetching its branches/);
        assert.equal(run.commit, older);
      });

      it("says so when the commit is on no branch, even after the fallback", async () => {
        const repo = sourceRepo();
        repo.commit("only", "2026-11-26T09:00:00Z");
        repo.push();
        const run = await realTagRun(repo, "f".repeat(40));
        assert.notEqual(run.code, 0);
        assert.match(run.stderr, /not our ref f{40}/);
        assert.match(run.stderr, /commit f{40} is on no branch of /);
      });
    });
  });

  describe("patch-deployment", () => {
    const { app, ctx } = appAndContext();
    const task = patchDeploymentTask(app, ctx);
    const deploymentFile = app.deploymentFile;
    const git = realRepoGit;

    /** A bare operations repo with one Deployment, plus the Task's workspaces. */
    function setup() {
      const root = tempDir("patch");
      const remote = path.join(root, "operations.git");
      git(root, "init", "--quiet", "--bare", "--initial-branch=main", remote);
      const seed = path.join(root, "seed");
      git(root, "clone", "--quiet", remote, seed);
      fs.mkdirSync(path.join(seed, path.dirname(deploymentFile)), { recursive: true });
      fs.writeFileSync(path.join(seed, deploymentFile), "image: old\n");
      fs.writeFileSync(path.join(seed, "README"), "ops\n");
      git(seed, "add", ".");
      git(seed, "commit", "--quiet", "-m", "seed");
      git(seed, "push", "--quiet", "origin", "HEAD:main");

      const operations = path.join(root, "operations");
      const gitWrite = path.join(root, "git-write");
      fs.mkdirSync(operations);
      fs.mkdirSync(gitWrite);
      fs.writeFileSync(path.join(gitWrite, "ssh-privatekey"), "not a real key\n");
      fs.writeFileSync(path.join(gitWrite, "known_hosts"), "gitlab ssh-ed25519 AAAA\n");
      const home = path.join(root, "home");
      fs.mkdirSync(home);
      const bin = path.join(root, "bin");
      stub(bin, "sleep", "exit 0");

      // The source workspace as the tag task leaves it: the commit and the branch tip.
      const sourceRemote = sourceRepo();
      const commit = sourceRemote.commit("base", "2026-11-26T12:00:00Z");
      sourceRemote.push();
      const source = path.join(root, "source");
      git(root, "clone", "--quiet", sourceRemote.remote, path.join(source, "src"));
      git(path.join(source, "src"), "update-ref", SOURCE_TIP_REF, commit);
      const imageUrl = `registry.example.com/team/service:20261126120000-${commit}-0a1b2c3d`;
      return { root, remote, seed, operations, gitWrite, home, bin, source, commit, imageUrl };
    }

    type Env = ReturnType<typeof setup>;
    const inputs = (env: Env) => ({
      params: {
        "operations-url": env.remote,
        "operations-branch": "",
        "deployment-file": deploymentFile,
        "container-name": app.containerName,
        "image-url": env.imageUrl,
        "image-digest": `sha256:${"b".repeat(64)}`,
        "commit-sha": env.commit,
      },
      workspaces: {
        operations: env.operations,
        source: env.source,
        "git-write-ssh": env.gitWrite,
      },
      home: env.home,
      bin: env.bin,
    });
    /** What the kubectl step would write. */
    const patched = (env: Env, text: string) =>
      fs.writeFileSync(path.join(env.operations, "patched-deployment.yaml"), text);
    const remoteLog = (env: Env) => git(env.remote, "log", "--format=%s|%an", "main");

    it("clones the operations repo and fails clearly when the deployment file is missing", async () => {
      const env = setup();
      const run = await runScriptStep(task, "clone", inputs(env));
      assert.equal(run.code, 0, run.stderr);
      assert.equal(
        fs.readFileSync(path.join(env.operations, "repo", deploymentFile), "utf8"),
        "image: old\n",
      );

      const missing = await runScriptStep(task, "clone", {
        ...inputs(env),
        params: { ...inputs(env).params, "deployment-file": "nope.yaml" },
      });
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /deployment-file 'nope.yaml' does not exist/);
    });

    describe("operations-branch", () => {
      /** The operations repo gains branch `deploy`, which Argo CD tracks, beside main. */
      function withDeployBranch(env: Env) {
        git(env.seed, "checkout", "--quiet", "-b", "deploy");
        fs.writeFileSync(path.join(env.seed, deploymentFile), "image: deployed\n");
        git(env.seed, "commit", "--quiet", "-am", "deploy branch");
        git(env.seed, "push", "--quiet", "origin", "HEAD:deploy");
      }
      const onBranch = (env: Env, branch: string) => ({
        ...inputs(env),
        params: { ...inputs(env).params, "operations-branch": branch },
      });

      it("clones, commits to and pushes the configured branch, leaving the default alone", async () => {
        const env = setup();
        withDeployBranch(env);
        const clone = await runScriptStep(task, "clone", onBranch(env, "deploy"));
        assert.equal(clone.code, 0, clone.stderr);
        assert.equal(
          fs.readFileSync(path.join(env.operations, "repo", deploymentFile), "utf8"),
          "image: deployed\n",
        );
        patched(env, "image: new@sha256:bbbb\n");
        const push = await runScriptStep(task, "commit-and-push", onBranch(env, "deploy"));
        assert.equal(push.code, 0, push.stderr);
        assert.match(push.stdout, /to deploy$/m);
        assert.equal(git(env.remote, "show", `deploy:${deploymentFile}`), "image: new@sha256:bbbb");
        assert.equal(git(env.remote, "log", "-1", "--format=%s", "deploy"), `commit ${env.commit}`);
        assert.equal(git(env.remote, "show", `main:${deploymentFile}`), "image: old");
        assert.equal(remoteLog(env), "seed|someone");
      });

      it("uses the repository's default branch when empty", async () => {
        const env = setup();
        withDeployBranch(env);
        assert.equal((await runScriptStep(task, "clone", onBranch(env, ""))).code, 0);
        patched(env, "image: new@sha256:bbbb\n");
        assert.equal((await runScriptStep(task, "commit-and-push", onBranch(env, ""))).code, 0);
        assert.equal(git(env.remote, "show", `main:${deploymentFile}`), "image: new@sha256:bbbb");
        assert.equal(git(env.remote, "show", `deploy:${deploymentFile}`), "image: deployed");
      });

      it("fails clearly for a missing branch and refuses one that is no branch name", async () => {
        const env = setup();
        const missing = await runScriptStep(task, "clone", onBranch(env, "nope"));
        assert.notEqual(missing.code, 0);
        assert.match(
          missing.stderr,
          /cloning branch 'nope' of .* failed \(does the branch exist\?\)/,
        );
        for (const bad of ["-b", "a..b", "x:y"]) {
          const run = await runScriptStep(task, "clone", onBranch(env, bad));
          assert.notEqual(run.code, 0, bad);
          assert.match(run.stderr, /operations-branch must be a git branch name or empty/);
        }
      });
    });

    describe("set-image", () => {
      const DIGEST = `sha256:${"b".repeat(64)}`;
      const IMAGE_URL = "registry.example.com/team/service:20261126120000-01234567";
      const KUBECTL_OUTPUT = "apiVersion: apps/v1\nkind: Deployment\n";

      /** A Deployment document with one container named `container`. */
      const workload = (name: string, container: string, comment = "") =>
        `${comment}apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  template:\n    spec:\n      containers:\n      - name: ${container}\n        image: old\n`;
      const SERVICE =
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: hello # the app's Service\nspec:\n  ports:\n  - port: 80\n";

      /**
       * A checkout as the clone step leaves it, and a stub kubectl that logs its arguments and
       * answers one document on stdin as kubectl v1.32 does (messages copied from a real run):
       * a Service has no pod template, a workload without the container is refused, the
       * workload with it comes back as KUBECTL_OUTPUT, a comment-only document as nothing.
       */
      function setImageSetup(file = workload("hello", app.containerName), brokenKubectl = false) {
        const root = tempDir("set-image");
        const operations = path.join(root, "operations");
        fs.mkdirSync(path.join(operations, "repo", path.dirname(deploymentFile)), {
          recursive: true,
        });
        fs.writeFileSync(path.join(operations, "repo", deploymentFile), file);
        const home = path.join(root, "home");
        fs.mkdirSync(home);
        const bin = path.join(root, "bin");
        const log = path.join(root, "kubectl.args");
        stub(
          bin,
          "kubectl",
          `printf '%s\\n' "$@" > ${log}
if [ "$5" = - ]; then doc="$(cat)"; else doc="$(cat "$5")"; fi
if ${brokenKubectl}; then echo "error: unable to decode \\"STDIN\\": Object 'Kind' is missing" >&2; exit 1; fi
case "$doc" in
  *"kind: Service"*) echo 'error: service/hello the object is not a pod or does not have a pod template: *v1.Service' >&2; exit 1 ;;
  *"name: ${app.containerName}"*) printf '${KUBECTL_OUTPUT.replace(/\n/g, "\\n")}' ;;
  *kind:*) echo 'error: unable to find container named "${app.containerName}"' >&2; exit 1 ;;
esac`,
        );
        const args = () =>
          fs.existsSync(log) ? fs.readFileSync(log, "utf8").replace(/\n$/, "").split("\n") : null;
        const output = () =>
          fs.readFileSync(path.join(operations, "patched-deployment.yaml"), "utf8");
        return { operations, home, bin, args, output };
      }

      const run = (env: ReturnType<typeof setImageSetup>, overrides: Record<string, string> = {}) =>
        runScriptStep(task, "set-image", {
          params: {
            "deployment-file": deploymentFile,
            "container-name": app.containerName,
            "image-url": IMAGE_URL,
            "image-digest": DIGEST,
            ...overrides,
          },
          workspaces: { operations: env.operations },
          home: env.home,
          bin: env.bin,
        });

      it("runs kubectl set image --local on the document and writes its output to $PATCHED", async () => {
        const env = setImageSetup();
        const result = await run(env);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(env.args(), [
          "set",
          "image",
          "--local",
          "-f",
          "-",
          `${app.containerName}=${IMAGE_URL}@${DIGEST}`,
          "-o",
          "yaml",
        ]);
        assert.equal(env.output(), KUBECTL_OUTPUT);
      });

      it("patches only the workload of a multi-document file, every other byte as it was", async () => {
        const head = "# managed by hand, and by the pipeline\n---\n";
        const file =
          head +
          workload("hello", app.containerName) +
          "--- # the Service\n" +
          SERVICE +
          "---\n" +
          workload("worker", "worker") +
          "---\n# nothing but a comment\n---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: c}";
        const env = setImageSetup(file);
        const result = await run(env);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(
          env.output(),
          file.replace(workload("hello", app.containerName), KUBECTL_OUTPUT),
        );
      });

      it("fails, naming the container, when no workload has it", async () => {
        const env = setImageSetup(SERVICE + "---\n" + workload("worker", "worker"));
        const result = await run(env);
        assert.notEqual(result.code, 0);
        assert.match(
          result.stderr,
          new RegExp(`no workload in ${deploymentFile} has a container named ${app.containerName}`),
        );
        assert.ok(!fs.existsSync(path.join(env.operations, "patched-deployment.yaml")));
      });

      it("fails when two workloads have the container, rather than guess", async () => {
        const twice = workload("a", app.containerName) + "---\n" + workload("b", app.containerName);
        const result = await run(setImageSetup(twice));
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /2 workloads in .* have a container named python-hello/);
      });

      it("shows kubectl's own error for a document it cannot read", async () => {
        const result = await run(setImageSetup(workload("hello", app.containerName), true));
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /no workload in .* has a container named/);
        assert.match(result.stderr, /document 1: error: unable to decode "STDIN"/);
      });

      it("with the real kubectl: a Deployment and its Service, the Service byte for byte", async function () {
        // Runs where a kubectl binary is on PATH (set image --local needs no cluster).
        const kubectl = requireTool("kubectl", "kubernetes-client");
        const file = workload("hello", app.containerName, "# the app\n") + "---\n" + SERVICE;
        const env = setImageSetup(file);
        fs.rmSync(path.join(env.bin, "kubectl"));
        fs.symlinkSync(kubectl, path.join(env.bin, "kubectl"));
        const result = await run(env);
        assert.equal(result.code, 0, result.stderr);
        const [deploymentDoc, service] = env.output().split(/^---\n/m);
        assert.equal(service, SERVICE);
        assert.match(deploymentDoc, /^kind: Deployment$/m);
        assert.match(
          deploymentDoc,
          new RegExp(`^ {6}- image: ${IMAGE_URL}@${DIGEST}\n {8}name: ${app.containerName}$`, "m"),
        );
      });

      it("with the real kubectl: a workload that already names the image is kept byte for byte", async function () {
        // kubectl prints nothing for an unchanged object (kubernetes/kubectl
        // pkg/cmd/set/set_image.go Run skips an empty patch, --local included); the script
        // took that for "no workload" and failed a re-run of the deployed build.
        const kubectl = requireTool("kubectl", "kubernetes-client");
        const file =
          workload("hello", app.containerName).replace(
            "image: old",
            `image: ${IMAGE_URL}@${DIGEST}`,
          ) +
          "---\n" +
          SERVICE;
        const env = setImageSetup(file);
        fs.rmSync(path.join(env.bin, "kubectl"));
        fs.symlinkSync(kubectl, path.join(env.bin, "kubectl"));
        const result = await run(env);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(env.output(), file);
      });

      const badDigests: Record<string, string> = {
        empty: "",
        "a short digest": "sha256:abcd",
        "another algorithm": `sha512:${"b".repeat(64)}`,
        "uppercase hex": `sha256:${"B".repeat(64)}`,
        "a second line": `${DIGEST}\nmore`,
        "an option": "--all",
      };
      for (const [what, digest] of Object.entries(badDigests)) {
        it(`refuses an image-digest with ${what} before running kubectl`, async () => {
          const env = setImageSetup();
          const result = await run(env, { "image-digest": digest });
          assert.notEqual(result.code, 0);
          assert.match(result.stderr, /image-digest must be sha256:<64 lowercase hex digits>/);
          assert.equal(env.args(), null);
        });
      }

      for (const name of ["--all", "-o=json", "Service", "", "a".repeat(64)]) {
        it(`refuses container-name '${name.slice(0, 20)}' before running kubectl`, async () => {
          const env = setImageSetup();
          const result = await run(env, { "container-name": name });
          assert.notEqual(result.code, 0);
          assert.match(result.stderr, /container-name must be a DNS label/);
          assert.equal(env.args(), null);
        });
      }
    });

    it("commits 'commit <source sha>' and pushes when the image changed", async () => {
      const env = setup();
      assert.equal((await runScriptStep(task, "clone", inputs(env))).code, 0);
      patched(env, "image: new@sha256:bbbb\n");
      const run = await runScriptStep(task, "commit-and-push", inputs(env));
      assert.equal(run.code, 0, run.stderr);
      assert.equal(remoteLog(env), `commit ${env.commit}|tekton-gitlab\nseed|someone`);
      assert.equal(git(env.remote, "show", `main:${deploymentFile}`), "image: new@sha256:bbbb");
    });

    it("commits nothing when the file is unchanged", async () => {
      const env = setup();
      assert.equal((await runScriptStep(task, "clone", inputs(env))).code, 0);
      patched(env, "image: old\n");
      const run = await runScriptStep(task, "commit-and-push", inputs(env));
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /nothing to commit/);
      assert.equal(remoteLog(env), "seed|someone");
    });

    it("rebases onto a concurrent push and retries", async () => {
      const env = setup();
      assert.equal((await runScriptStep(task, "clone", inputs(env))).code, 0);
      patched(env, "image: new@sha256:bbbb\n");
      // Someone else pushes an unrelated change just before our first push.
      const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
      const marker = path.join(env.root, "raced");
      stub(
        env.bin,
        "git",
        `if [ "$1" = push ] && [ ! -e ${marker} ]; then
  touch ${marker}
  (cd ${env.seed} && echo more >> README && ${realGit} commit --quiet -am other && ${realGit} push --quiet origin HEAD:main) >/dev/null 2>&1
fi
exec ${realGit} "$@"`,
      );
      const run = await runScriptStep(task, "commit-and-push", inputs(env));
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stderr,
        /push rejected; deciding again against the new main \(attempt 2 of 5\)/,
      );
      assert.deepEqual(
        remoteLog(env)
          .split("\n")
          .map((line) => line.split("|")[0]),
        [`commit ${env.commit}`, "other", "seed"],
      );
    });

    it("gives up after a conflicting concurrent change without overwriting it", async () => {
      const env = setup();
      assert.equal((await runScriptStep(task, "clone", inputs(env))).code, 0);
      patched(env, "image: new@sha256:bbbb\n");
      fs.writeFileSync(path.join(env.seed, deploymentFile), "image: theirs\n");
      git(env.seed, "commit", "--quiet", "-am", "theirs");
      git(env.seed, "push", "--quiet", "origin", "HEAD:main");
      const run = await runScriptStep(task, "commit-and-push", inputs(env));
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /conflicts with this one; not retrying/);
      assert.equal(git(env.remote, "show", `main:${deploymentFile}`), "image: theirs");
    });

    it(`stops after ${PUSH_ATTEMPTS} rejected pushes`, async () => {
      const env = setup();
      assert.equal((await runScriptStep(task, "clone", inputs(env))).code, 0);
      patched(env, "image: new@sha256:bbbb\n");
      const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
      const pushes = path.join(env.root, "pushes");
      stub(
        env.bin,
        "git",
        `if [ "$1" = push ]; then echo push >> ${pushes}; exit 1; fi
exec ${realGit} "$@"`,
      );
      const run = await runScriptStep(task, "commit-and-push", inputs(env));
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, new RegExp(`failed ${PUSH_ATTEMPTS} times; giving up`));
      assert.equal(fs.readFileSync(pushes, "utf8").trim().split("\n").length, PUSH_ATTEMPTS);
    });

    describe("which build wins: the source history decides", () => {
      const REPO = "registry.example.com/team/service";
      const digest = (c: string) => `sha256:${c.repeat(64)}`;
      /** A Deployment as kubectl writes it, with a sidecar the pipeline never touches. */
      const deployment = (image: string, sidecar = "docker.io/library/busybox:1.37") =>
        [
          "apiVersion: apps/v1",
          "kind: Deployment",
          "spec:",
          "  template:",
          "    spec:",
          "      containers:",
          `      - image: ${image}`,
          `        name: ${app.containerName}`,
          `      - image: ${sidecar}`,
          "        name: sidecar",
          "",
        ].join("\n");

      /** Replaces the seeded deployment file with `text` in the remote. */
      function seedDeployment(env: Env, text: string) {
        fs.writeFileSync(path.join(env.seed, deploymentFile), text);
        git(env.seed, "commit", "--quiet", "-am", "seed image");
        git(env.seed, "push", "--quiet", "origin", "HEAD:main");
      }

      /**
       * Another run commits `text` in the seed clone now and pushes it just before our first
       * push: it finished while we were between clone and push.
       */
      function racingRun(env: Env, text: string, message: string) {
        fs.writeFileSync(path.join(env.seed, deploymentFile), text);
        git(env.seed, "commit", "--quiet", "-am", message);
        const marker = path.join(env.root, "raced");
        stub(
          env.bin,
          "git",
          `if [ "$1" = push ] && [ ! -e ${marker} ]; then
  touch ${marker}
  (cd ${env.seed} && ${realGit()} push --quiet origin HEAD:main) >/dev/null 2>&1
fi
exec ${realGit()} "$@"`,
        );
      }

      type Build = Awaited<ReturnType<typeof realTagRun>>;
      /** The tag step of a PipelineRun for `sha`, run now against the source repository. */
      async function build(repo: SourceRepo, sha: string): Promise<Build> {
        const run = await realTagRun(repo, sha);
        assert.equal(run.code, 0, run.stderr);
        return run;
      }

      /** The patch task of `b`'s PipelineRun, its image pushed with digest `d`. */
      async function patch(env: Env, b: Build, d: string, race?: () => void) {
        const stepInputs = {
          ...inputs(env),
          params: {
            ...inputs(env).params,
            "image-url": b.imageUrl,
            "image-digest": d,
            "commit-sha": b.commit,
          },
          workspaces: { ...inputs(env).workspaces, source: b.source },
        };
        const clone = await runScriptStep(task, "clone", stepInputs);
        assert.equal(clone.code, 0, clone.stderr);
        patched(env, deployment(`${b.imageUrl}@${d}`));
        race?.();
        return runScriptStep(task, "commit-and-push", stepInputs);
      }

      const remoteFile = (env: Env) => git(env.remote, "show", `main:${deploymentFile}`) + "\n";
      const subjects = (env: Env) =>
        remoteLog(env)
          .split("\n")
          .map((line) => line.split("|")[0]);

      /** `patch`, which must succeed. */
      async function patchOk(env: Env, b: Build, d: string, race?: () => void) {
        const run = await patch(env, b, d, race);
        assert.equal(run.code, 0, run.stderr);
        return run;
      }

      /** The remote deploys `b`'s image at digest `d`; its commit subjects, newest first. */
      function assertDeploys(env: Env, b: Build, d: string, history: string[]) {
        assert.equal(remoteFile(env), deployment(`${b.imageUrl}@${d}`));
        assert.deepEqual(subjects(env), history);
      }

      it("in order: the build of a child commit replaces its parent's", async () => {
        const env = setup();
        const repo = sourceRepo();
        const a = repo.commit("a", "2026-11-26T10:00:00Z");
        const b = repo.commit("b", "2026-11-26T11:00:00Z");
        repo.push();
        await patchOk(env, await build(repo, a), digest("a"));
        const buildB = await build(repo, b);
        await patchOk(env, buildB, digest("b"));
        assertDeploys(env, buildB, digest("b"), [`commit ${b}`, `commit ${a}`, "seed"]);
      });

      it("out of order: an older commit finishing last leaves the newer one deployed", async () => {
        const env = setup();
        const repo = sourceRepo();
        const a = repo.commit("a", "2026-11-26T10:00:00Z");
        repo.push();
        const buildA = await build(repo, a); // fetched before b was pushed
        const b = repo.commit("b", "2026-11-26T11:00:00Z");
        repo.push();
        const buildB = await build(repo, b);
        await patchOk(env, buildB, digest("b"));
        const late = await patchOk(env, buildA, digest("a"));
        assert.match(
          late.stdout,
          new RegExp(
            `deploys commit ${b}, committed at 20261126110000, which is not in the history of ${a} .*most likely pushed after this build fetched; leaving it in place`,
          ),
        );
        assertDeploys(env, buildB, digest("b"), [`commit ${b}`, "seed"]);
      });

      it("a re-run of an old run leaves the newer commit, whatever the committer dates say", async () => {
        const env = setup();
        const repo = sourceRepo();
        const a = repo.commit("a", "2026-11-26T10:00:00Z");
        // b descends from a but carries an earlier committer date (a skewed clock, a rebase).
        const b = repo.commit("b", "2026-11-26T09:00:00Z");
        repo.push();
        const buildB = await build(repo, b);
        await patchOk(env, buildB, digest("b"));
        const rerun = await patchOk(env, await build(repo, a), digest("c"));
        assert.match(
          rerun.stdout,
          new RegExp(`deploys commit ${b}, which descends from ${a}: a newer commit is deployed`),
        );
        assertDeploys(env, buildB, digest("b"), [`commit ${b}`, "seed"]);
      });

      it("the same commit built twice (a redelivered webhook) rolls nothing out again", async () => {
        const env = setup();
        const repo = sourceRepo();
        const a = repo.commit("a", "2026-11-26T10:00:00Z");
        repo.push();
        const first = await build(repo, a);
        await patchOk(env, first, digest("a"));
        // Kaniko's second build of the same commit gets another digest, and another tag.
        const second = await build(repo, a);
        assert.notEqual(second.imageUrl, first.imageUrl);
        const again = await patchOk(env, second, digest("d"));
        assert.match(again.stdout, new RegExp(`already deploys commit ${a}; nothing to do`));
        assertDeploys(env, first, digest("a"), [`commit ${a}`, "seed"]);
      });

      it("a force-pushed branch: the rewritten commit replaces the dropped one, never back", async () => {
        const env = setup();
        const repo = sourceRepo();
        const base = repo.commit("base", "2026-11-26T09:00:00Z");
        const dropped = repo.commit("dropped", "2026-11-26T10:00:00Z");
        repo.push();
        const buildDropped = await build(repo, dropped);
        await patchOk(env, buildDropped, digest("a"));

        repo.resetTo(base);
        const rewritten = repo.commit("rewritten", "2026-11-26T11:00:00Z");
        repo.push(true);
        const buildRewritten = await build(repo, rewritten);
        const forward = await patchOk(env, buildRewritten, digest("b"));
        assert.match(forward.stdout, /dropped by a force push\?\) and was committed earlier/);
        const deployed = deployment(`${buildRewritten.imageUrl}@${digest("b")}`);
        assert.equal(remoteFile(env), deployed);

        // The dropped commit's webhook delivered again, or its old run re-run: it stays out.
        for (const stale of [await build(repo, dropped), buildDropped]) {
          const back = await patchOk(env, stale, digest("c"));
          assert.match(back.stdout, new RegExp(`deploys commit ${rewritten}`));
          assert.match(back.stdout, /leaving it in place/);
          assert.equal(remoteFile(env), deployed);
        }
        assert.deepEqual(subjects(env), [`commit ${rewritten}`, `commit ${dropped}`, "seed"]);
      });

      it("an older run whose push loses to a newer one decides again and stops", async () => {
        const env = setup();
        const repo = sourceRepo();
        const a = repo.commit("a", "2026-11-26T10:00:00Z");
        const b = repo.commit("b", "2026-11-26T11:00:00Z");
        repo.push();
        const buildA = await build(repo, a);
        const newer = deployment(`${REPO}:20261126110000-${b}@${digest("b")}`);
        const run = await patchOk(env, buildA, digest("a"), () =>
          racingRun(env, newer, `commit ${b}`),
        );
        assert.match(run.stderr, /push rejected; deciding again/);
        assert.match(run.stdout, new RegExp(`deploys commit ${b}, which descends from ${a}`));
        assert.equal(remoteFile(env), newer);
        assert.deepEqual(subjects(env), [`commit ${b}`, "seed"]);
      });

      it("a newer run whose push loses to an older one puts its image in the older one's place", async () => {
        const env = setup();
        const repo = sourceRepo();
        const o = repo.commit("o", "2026-11-26T09:00:00Z");
        const a = repo.commit("a", "2026-11-26T10:00:00Z");
        const b = repo.commit("b", "2026-11-26T11:00:00Z");
        repo.push();
        seedDeployment(env, deployment(`${REPO}:20261126090000-${o}@${digest("d")}`));
        const older = `${REPO}:20261126100000-${a}-0a1b2c3d@${digest("a")}`;
        // The older run also changed the sidecar line: that change must survive.
        const buildB = await build(repo, b);
        const run = await patchOk(env, buildB, digest("b"), () =>
          racingRun(env, deployment(older, "docker.io/library/busybox:1.38"), `commit ${a}`),
        );
        assert.match(
          run.stderr,
          /main now deploys an older build of registry\.example\.com\/team\/service; putting this one in its place/,
        );
        assert.equal(
          remoteFile(env),
          deployment(`${buildB.imageUrl}@${digest("b")}`, "docker.io/library/busybox:1.38"),
        );
        assert.deepEqual(subjects(env), [`commit ${b}`, `commit ${a}`, "seed image", "seed"]);
      });

      it("takes the file when it names no build of this repository with a commit id", async () => {
        const env = setup();
        const others = [
          `${REPO}-worker:20991231000000-${"f".repeat(40)}`,
          `other.${REPO}:20991231000000-${"f".repeat(40)}`,
          `mirror.example.com/${REPO}:20991231000000-${"f".repeat(40)}`,
          // A tag from before builds were named by commit: its timestamp orders nothing.
          `${REPO}:20991231000000-fedcba98`,
        ];
        const seeded = deployment("python:3.13") + others.map((o) => `# ${o}\n`).join("");
        seedDeployment(env, seeded);
        const repo = sourceRepo();
        const a = repo.commit("a", "2026-11-26T10:00:00Z");
        repo.push();
        const buildA = await build(repo, a);
        await patchOk(env, buildA, digest("a"));
        assert.equal(remoteFile(env), deployment(`${buildA.imageUrl}@${digest("a")}`));
      });

      it("fails clearly when image-url is not <committer date>-<commit-sha>", async () => {
        const env = setup();
        assert.equal((await runScriptStep(task, "clone", inputs(env))).code, 0);
        patched(env, deployment("x"));
        for (const imageUrl of [
          `${REPO}:latest`,
          `${REPO}:20261126120000-${SHA}-0a1b2c3d`,
          `${REPO}:20261126120000-${env.commit}`,
        ]) {
          const run = await runScriptStep(task, "commit-and-push", {
            ...inputs(env),
            params: { ...inputs(env).params, "image-url": imageUrl },
          });
          assert.notEqual(run.code, 0);
          assert.match(
            run.stderr,
            /image-url must end in :<committer date YYYYMMDDHHMMSS>-<commit-sha>-<run>/,
          );
        }
        assert.deepEqual(subjects(env), ["seed"]);
      });

      it("refuses a commit-sha that is not a hex commit id", async () => {
        const env = setup();
        assert.equal((await runScriptStep(task, "clone", inputs(env))).code, 0);
        patched(env, deployment("x"));
        const run = await runScriptStep(task, "commit-and-push", {
          ...inputs(env),
          params: { ...inputs(env).params, "commit-sha": "--all" },
        });
        assert.notEqual(run.code, 0);
        assert.match(run.stderr, /commit-sha must be a hex commit id, got: '--all'/);
        assert.deepEqual(subjects(env), ["seed"]);
      });

      it("fails clearly when the source workspace lacks the commit", async () => {
        const env = setup();
        assert.equal((await runScriptStep(task, "clone", inputs(env))).code, 0);
        patched(env, deployment("x"));
        const empty = tempDir("empty-source");
        const run = await runScriptStep(task, "commit-and-push", {
          ...inputs(env),
          workspaces: { ...inputs(env).workspaces, source: empty },
        });
        assert.notEqual(run.code, 0);
        assert.match(run.stderr, /does not hold commit .* as generate-image-tag leaves them/);
        assert.deepEqual(subjects(env), ["seed"]);
      });
    });

    it("gives git only the write key, as a private copy, and the pinned host keys", async () => {
      const env = setup();
      const log = path.join(env.root, "ssh.log");
      const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
      stub(
        env.bin,
        "git",
        `KEY="$(printf '%s' "$GIT_SSH_COMMAND" | sed 's/.* -i \\([^ ]*\\) .*/\\1/')"
printf '%s|%s|%s\\n' "$GIT_SSH_COMMAND" "$(stat -c %a "$KEY")" "$(cat "$KEY")" >> ${log}
exec ${realGit} "$@"`,
      );
      const run = await runScriptStep(task, "clone", inputs(env));
      assert.equal(run.code, 0, run.stderr);
      const [command, mode, key] = fs
        .readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .pop()!
        .split("|");
      assert.match(
        command,
        new RegExp(
          `^ssh -F none -i \\S+ -o IdentitiesOnly=yes -o UserKnownHostsFile=${env.gitWrite}/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes$`,
        ),
      );
      assert.ok(!command.includes(env.gitWrite + "/ssh-privatekey"), "uses a private copy");
      assert.equal(mode, "600");
      assert.equal(key, "not a real key");
    });
  });
});
