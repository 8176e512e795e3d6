import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { ConfigError } from "../../config/load";
import { parseStackFile } from "../../config/stackFile";
import { renderManifests } from "../../tekton/render";
import {
  parseArgs,
  RENDER_MARKER,
  renderStack,
  SECRET_PLACEHOLDER,
  withSecretPlaceholders,
} from "../../scripts/render";
import { REPO_ROOT, TEST_SECRETS } from "../harness/program";
import { multiAppStack, removeTempDirs, stack, tempDir } from "./helpers";

const EXAMPLE_FILES = [
  "hello-python/task-generate-image-tag.yaml",
  "hello-python/task-build-and-push.yaml",
  "hello-python/task-patch-deployment.yaml",
  "hello-python/task-report-build-status.yaml",
  "hello-python/task-cancel-superseded.yaml",
  "hello-python/pipeline-build-hello-python.yaml",
  "hello-python/triggerbinding-hello-python-push.yaml",
  "hello-python/triggertemplate-hello-python-pipelinerun.yaml",
  "hello-python/trigger-hello-python-gitlab-push.yaml",
  "listener/eventlistener-tekton-gitlab.yaml",
];

/** A project dir holding Pulumi.<stack>.yaml with the given text. */
function project(stackName: string, text: string): string {
  const dir = tempDir("render-project");
  fs.writeFileSync(path.join(dir, `Pulumi.${stackName}.yaml`), text);
  return dir;
}

const exampleText = () => fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8");

describe("rendering", function () {
  this.timeout(20000);
  after(removeTempDirs);

  describe("renderManifests", () => {
    it("gives every Tekton object of each app a path of its own", () => {
      assert.deepEqual(
        renderManifests(stack()).map((m) => m.path),
        EXAMPLE_FILES,
      );
      const multi = renderManifests(multiAppStack());
      // Eight objects per app, and one EventListener for all of them.
      assert.equal(multi.length, 3 * (EXAMPLE_FILES.length - 1) + 1);
      assert.equal(new Set(multi.map((m) => m.path)).size, multi.length);
      for (const { path: file, manifest } of multi) {
        const app = file.split("/")[0];
        const namespace = app === "listener" ? "tekton-gitlab-listener" : `${app}-build`;
        assert.equal(manifest.metadata.namespace, namespace, file);
      }
    });

    it("renders no Secret and no secret value", () => {
      const rendered = renderManifests(stack());
      assert.deepEqual(
        [...new Set(rendered.map((m) => m.manifest.kind))],
        ["Task", "Pipeline", "TriggerBinding", "TriggerTemplate", "Trigger", "EventListener"],
      );
      const text = JSON.stringify(rendered);
      for (const secret of Object.values(TEST_SECRETS)) assert.ok(!text.includes(secret));
      assert.ok(!text.includes("BEGIN CERTIFICATE"), "the CA travels in a ConfigMap");
    });
  });

  describe("parseStackFile", () => {
    it("gives structured values as JSON, scalars as strings, and skips secure values", () => {
      const raw = parseStackFile(`config:
  gitlab:baseUrl: https://gitlab.example.com/api/v4/
  tekton-gitlab:registry:
    host: registry.example.com
  tekton-gitlab:registryPassword:
    secure: AAABAMmWc2VjcmV0
  apps: []
`);
      assert.deepEqual(raw, {
        "gitlab:baseUrl": "https://gitlab.example.com/api/v4/",
        "tekton-gitlab:registry": '{"host":"registry.example.com"}',
        "tekton-gitlab:apps": "[]",
      });
    });

    it("rejects a file whose config is not a mapping", () => {
      assert.throws(() => parseStackFile("config: [1, 2]\n"), /`config:`.*mapping/);
      assert.throws(() => parseStackFile("- a\n"), /mapping/);
      assert.deepEqual(parseStackFile(""), {});
    });
  });

  describe("npm run render arguments", () => {
    it("default to --stack dev --out rendered", () => {
      assert.deepEqual(parseArgs([]), { stack: "dev", out: "rendered" });
      assert.deepEqual(parseArgs(["--stack", "prod", "--out=out/dir"]), {
        stack: "prod",
        out: "out/dir",
      });
    });

    it("are rejected when unknown or missing a value", () => {
      assert.throws(() => parseArgs(["--stak", "dev"]), /unknown argument --stak; usage/);
      assert.throws(() => parseArgs(["--out"]), /--out needs a value/);
      assert.throws(() => parseArgs(["--stack", "--out", "x"]), /--stack needs a value/);
    });
  });

  describe("secret placeholders", () => {
    it("stand in only for absent secrets, the registry password only beside a user", () => {
      const withUser = { "tekton-gitlab:registry": '{"host":"r.example.com","username":"ci"}' };
      assert.deepEqual(withSecretPlaceholders(withUser), {
        ...withUser,
        "gitlab:token": SECRET_PLACEHOLDER,
        "tekton-gitlab:registryPassword": SECRET_PLACEHOLDER,
      });
      const anonymous = { "tekton-gitlab:registry": '{"host":"r.example.com"}' };
      assert.deepEqual(withSecretPlaceholders(anonymous), {
        ...anonymous,
        "gitlab:token": SECRET_PLACEHOLDER,
      });
      assert.equal(withSecretPlaceholders({ "gitlab:token": "set" })["gitlab:token"], "set");
    });
  });

  describe("renderStack", () => {
    it("writes the stack's manifests as YAML, one object per file, and marks the directory", () => {
      const dir = project("ci", exampleText());
      const files = renderStack({ stack: "ci", out: "rendered" }, dir, {});
      assert.deepEqual(files, EXAMPLE_FILES);
      const expected = renderManifests(stack());
      for (const { path: file, manifest } of expected) {
        const text = fs.readFileSync(path.join(dir, "rendered", file), "utf8");
        assert.equal(parseAllDocuments(text).length, 1, file);
        assert.doesNotMatch(text, /(^|\s)[&*]a\d+\b/, `${file} uses YAML aliases`);
        assert.deepEqual(parse(text), manifest, file);
      }
      assert.ok(fs.existsSync(path.join(dir, "rendered", RENDER_MARKER)));
    });

    it("replaces its own earlier output, stale files included", () => {
      const dir = project("ci", exampleText());
      renderStack({ stack: "ci", out: "rendered" }, dir, {});
      fs.writeFileSync(path.join(dir, "rendered", "hello-python", "task-old.yaml"), "stale");
      renderStack({ stack: "ci", out: "rendered" }, dir, {});
      assert.ok(!fs.existsSync(path.join(dir, "rendered", "hello-python", "task-old.yaml")));
    });

    it("refuses to write into a non-empty directory it did not create", () => {
      const dir = project("ci", exampleText());
      fs.mkdirSync(path.join(dir, "mine"));
      fs.writeFileSync(path.join(dir, "mine", "notes.txt"), "keep me");
      assert.throws(
        () => renderStack({ stack: "ci", out: "mine" }, dir, {}),
        /refusing to write into .*mine: it is not empty/,
      );
      assert.equal(fs.readFileSync(path.join(dir, "mine", "notes.txt"), "utf8"), "keep me");
    });

    it("validates the stack file as the program does", () => {
      const missingBaseUrl = exampleText().replace(/^ {2}gitlab:baseUrl:.*\n/m, "");
      const dir = project("ci", missingBaseUrl);
      assert.throws(
        () => renderStack({ stack: "ci", out: "rendered" }, dir, {}),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.problems.some((p) => p.startsWith("gitlab:baseUrl: required")),
      );
      const badApp = exampleText().replace(
        "containerName: python-hello",
        "containerName: Bad_Name",
      );
      assert.throws(
        () => renderStack({ stack: "ci", out: "rendered" }, project("ci", badApp), {}),
        /tekton-gitlab:apps\[0\]\.containerName: expected a DNS label/,
      );
      assert.throws(
        () => renderStack({ stack: "nope", out: "rendered" }, dir, {}),
        /no stack file .*Pulumi\.nope\.yaml/,
      );
    });
  });

  it("runs as npm run render and exits non-zero on a bad stack", async () => {
    const dir = project("ci", exampleText());
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [
            "-r",
            require.resolve("ts-node/register/transpile-only"),
            path.join(REPO_ROOT, "scripts", "render.ts"),
            ...args,
          ],
          {
            cwd: dir,
            env: { ...process.env, TS_NODE_PROJECT: path.join(REPO_ROOT, "tsconfig.json") },
          },
          (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
        ),
      );
    const ok = await run(["--stack", "ci", "--out", "out"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /wrote 10 manifests for stack ci to out\//);
    assert.ok(fs.existsSync(path.join(dir, "out", EXAMPLE_FILES[3])));

    const bad = await run(["--stack", "missing"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /render: no stack file/);
  });
});
