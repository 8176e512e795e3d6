import * as assert from "node:assert/strict";
import { pipelineName, sshCloneUrl } from "../../tekton/core/names";
import { buildPipeline, pipelineWorkspaces } from "../../tekton/build/pipeline";
import { buildTasks } from "../../tekton/build/tasks";
import { Pipeline, PipelineTask } from "../../tekton/core/types";
import { appAndContext } from "./helpers";

function pipelineTask(pipeline: Pipeline, name: string): PipelineTask {
  const task = [...pipeline.spec.tasks, ...(pipeline.spec.finally ?? [])].find(
    (t) => t.name === name,
  );
  if (!task) throw new Error(`no pipeline task ${name}`);
  return task;
}

const paramsOf = (task: PipelineTask) =>
  Object.fromEntries(task.params.map((p) => [p.name, p.value]));

describe("build pipeline", function () {
  const { app, ctx } = appAndContext();
  const pipeline = buildPipeline(app, ctx);

  it("is build-<app> in the app's namespace", () => {
    assert.equal(pipeline.apiVersion, "tekton.dev/v1");
    assert.equal(pipeline.kind, "Pipeline");
    assert.equal(pipeline.metadata.name, "build-hello-python");
    assert.equal(pipeline.metadata.name, pipelineName(app));
    assert.equal(pipeline.metadata.namespace, "python-hello-build");
  });

  it("requires the clone URLs and the commit, and defaults the rest from config", () => {
    const params = Object.fromEntries(pipeline.spec.params.map((p) => [p.name, p.default]));
    assert.deepEqual(params, {
      "source-url": undefined,
      revision: undefined,
      "operations-url": undefined,
      "source-branch": "main",
      "registry-host": "docker.apps.192-168-2-114.nip.io",
      "image-repository": "python-hello-build/hello-world-service",
      dockerfile: "source/Dockerfile",
      "context-dir": "source",
      "cache-repository": "python-hello-build/hello-world-service/cache",
      "operations-branch": "",
      "deployment-file": "src/deployments/hello-python.yaml",
      "container-name": "python-hello",
    });
  });

  it("defaults operations-branch to apps[].operationsBranch", () => {
    const other = appAndContext({ apps: ([a]) => [{ ...a, operationsBranch: "env/dev" }] });
    const param = buildPipeline(other.app, other.ctx).spec.params.find(
      (p) => p.name === "operations-branch",
    );
    assert.equal(param?.default, "env/dev");
  });

  it("defaults the Dockerfile to <contextDir>/Dockerfile when the app names none", () => {
    const other = appAndContext({ apps: ([a]) => [{ ...a, dockerfile: undefined }] });
    const dockerfile = buildPipeline(other.app, other.ctx).spec.params.find(
      (p) => p.name === "dockerfile",
    );
    assert.equal(dockerfile?.default, "source/Dockerfile");
  });

  it("runs tag, then build, then patch: the patch never precedes the push", () => {
    assert.deepEqual(
      pipeline.spec.tasks.map((t) => [t.name, t.taskRef.name, t.runAfter ?? []]),
      [
        ["generate-image-tag", "generate-image-tag", []],
        ["build-and-push", "build-and-push", ["generate-image-tag"]],
        ["patch-deployment", "patch-deployment", ["build-and-push"]],
        // No runAfter: it starts beside the tag task and adds nothing to the critical path.
        ["cancel-superseded", "cancel-superseded", []],
        // Beside the first task, on nobody's path (tests/status/status.test.ts).
        ["report-running", "report-build-status", []],
      ],
    );
  });

  it("has no cancel-superseded task with cancelSuperseded: false", () => {
    const { app: off, ctx: offCtx } = appAndContext({
      apps: ([a]) => [{ ...a, cancelSuperseded: false }],
    });
    assert.deepEqual(
      buildPipeline(off, offCtx).spec.tasks.map((t) => t.name),
      ["generate-image-tag", "build-and-push", "patch-deployment", "report-running"],
    );
    assert.deepEqual(
      buildTasks(off, offCtx).map((t) => t.metadata.name),
      ["generate-image-tag", "build-and-push", "patch-deployment", "report-build-status"],
    );
  });

  it("feeds the tag's results and the build's digest to the later tasks", () => {
    assert.deepEqual(paramsOf(pipelineTask(pipeline, "generate-image-tag")), {
      "source-url": "$(params.source-url)",
      revision: "$(params.revision)",
      "source-branch": "$(params.source-branch)",
      "registry-host": "$(params.registry-host)",
      "image-repository": "$(params.image-repository)",
    });
    assert.deepEqual(paramsOf(pipelineTask(pipeline, "build-and-push")), {
      "image-url": "$(tasks.generate-image-tag.results.image-url)",
      dockerfile: "$(params.dockerfile)",
      "context-dir": "$(params.context-dir)",
      "registry-host": "$(params.registry-host)",
      "cache-repository": "$(params.cache-repository)",
    });
    assert.deepEqual(paramsOf(pipelineTask(pipeline, "patch-deployment")), {
      "operations-url": "$(params.operations-url)",
      "operations-branch": "$(params.operations-branch)",
      "deployment-file": "$(params.deployment-file)",
      "container-name": "$(params.container-name)",
      "image-url": "$(tasks.build-and-push.results.IMAGE_URL)",
      "image-digest": "$(tasks.build-and-push.results.IMAGE_DIGEST)",
      "commit-sha": "$(tasks.generate-image-tag.results.commit-sha)",
    });
  });

  const usesOf = (taskName: string) =>
    [...pipeline.spec.tasks, ...(pipeline.spec.finally ?? [])].filter(
      (t) => t.taskRef.name === taskName,
    );

  it("passes each Task every param it requires and only params it declares", () => {
    for (const task of buildTasks(app, ctx)) {
      const uses = usesOf(task.metadata.name);
      assert.ok(uses.length > 0, `${task.metadata.name} is used`);
      for (const use of uses) {
        const passed = use.params.map((p) => p.name).sort();
        const declared = task.spec.params.map((p) => p.name);
        const required = task.spec.params.filter((p) => p.default === undefined);
        assert.deepEqual(
          passed.filter((name) => !declared.includes(name)),
          [],
          `${use.name} passes undeclared params`,
        );
        assert.deepEqual(
          required.map((p) => p.name).filter((name) => !passed.includes(name)),
          [],
          `${use.name} misses required params`,
        );
      }
    }
  });

  it("binds every workspace each Task declares to the Pipeline's workspace of that name", () => {
    const declared = pipeline.spec.workspaces.map((w) => w.name);
    for (const task of buildTasks(app, ctx)) {
      for (const use of usesOf(task.metadata.name)) {
        const bindings = use.workspaces;
        assert.deepEqual(
          bindings.map((b) => b.name),
          task.spec.workspaces.map((w) => w.name),
          task.metadata.name,
        );
        for (const binding of bindings) {
          assert.equal(binding.workspace, binding.name);
          assert.ok(declared.includes(binding.workspace), binding.workspace);
        }
      }
    }
  });

  it("keeps the operations checkout off the source PVC (one PVC per TaskRun)", () => {
    const bound = (name: string) => pipelineTask(pipeline, name).workspaces.map((w) => w.workspace);
    assert.deepEqual(bound("generate-image-tag"), ["source", "git-pull-ssh"]);
    // The patch task reads the tag task's checkout to order commits; its own scratch space,
    // operations, is an emptyDir, so the source PVC stays the TaskRun's only PVC.
    assert.deepEqual(bound("patch-deployment"), ["operations", "source", "git-write-ssh"]);
    assert.ok(!bound("build-and-push").includes("operations"));
  });

  describe("declared workspaces", () => {
    it("are source, operations, the two git keys, docker-config, registry-ca and the status token in the example", () => {
      assert.deepEqual(pipelineWorkspaces(ctx, app), [
        "source",
        "operations",
        "git-pull-ssh",
        "git-write-ssh",
        "docker-config",
        "registry-ca",
        "gitlab-status-token",
      ]);
      assert.deepEqual(
        pipeline.spec.workspaces.map((w) => w.name),
        pipelineWorkspaces(ctx, app),
      );
    });

    it("leave out docker-config without a registry user and registry-ca without a CA", () => {
      const bare = appAndContext({
        registry: ({ username: _u, caCert: _c, ...rest }) => rest,
        apps: ([a]) => [{ ...a, build: { cache: { enabled: false } }, statusReporting: false }],
      });
      assert.deepEqual(pipelineWorkspaces(bare.ctx, bare.app), [
        "source",
        "operations",
        "git-pull-ssh",
        "git-write-ssh",
      ]);
      const barePipeline = buildPipeline(bare.app, bare.ctx);
      assert.deepEqual(
        barePipeline.spec.workspaces.map((w) => w.name),
        ["source", "operations", "git-pull-ssh", "git-write-ssh"],
      );
      assert.deepEqual(
        pipelineTask(barePipeline, "build-and-push").workspaces.map((w) => w.name),
        ["source"],
      );
      assert.ok(!("registry-host" in paramsOf(pipelineTask(barePipeline, "build-and-push"))));
    });
  });

  it("exports tiny results: the image as Tekton Chains reads it, and the commit", () => {
    // Chains (v0.29.2 pkg/chains/formats/slsa/extract/extract.go) takes a PipelineRun's
    // results with the IMAGE_URL / IMAGE_DIGEST type hint as the built artifact.
    assert.deepEqual(pipeline.spec.results, [
      {
        name: "IMAGE_URL",
        type: "string",
        description: "The pushed image, <registry>/<repository>:<tag>",
        value: "$(tasks.build-and-push.results.IMAGE_URL)",
      },
      {
        name: "IMAGE_DIGEST",
        type: "string",
        description: "The pushed image's digest, sha256:...",
        value: "$(tasks.build-and-push.results.IMAGE_DIGEST)",
      },
      {
        name: "commit-sha",
        type: "string",
        description: "The source commit that was built",
        value: "$(tasks.generate-image-tag.results.commit-sha)",
      },
    ]);
  });

  it("with a custom SSH port, takes the ssh:// URLs the trigger forms and hard-codes none", () => {
    const custom = appAndContext({
      gitSsh: (ssh) => ({
        ...ssh,
        port: 2222,
        knownHosts: ssh.knownHosts.replace(/^(\S+)/gm, "[$1]:2222"),
      }),
    });
    assert.equal(
      sshCloneUrl(custom.ctx.gitSsh, custom.app.sourceProject),
      "ssh://git@gitlab-gitlab-shell.gitlab.svc.cluster.local:2222/root/hello-python.git",
    );
    const text = JSON.stringify([
      buildPipeline(custom.app, custom.ctx),
      ...buildTasks(custom.app, custom.ctx),
    ]);
    assert.ok(!text.includes("2222"));
    assert.ok(!text.includes("git@"));
  });
});
