// The trigger and the Pipeline are built by different modules; these tests hold them to one
// contract: the PipelineRun supplies exactly the Pipeline's required params and binds exactly its
// workspaces, and tekton-lint finds no error in the pipeline and trigger objects together.
import * as assert from "node:assert/strict";
import { buildPipeline, pipelineWorkspaces } from "../../tekton/build/pipeline";
import { buildTasks } from "../../tekton/build/tasks";
import { triggerManifests, triggerObjects } from "../../tekton/listener/triggers";
import { formatProblems, lintManifests } from "../harness/tektonLint";
import { exampleApp } from "./helpers";

const setups = {
  "registry with credentials and CA": () => exampleApp(),
  "registry without credentials or CA": () => {
    const { app, ctx } = exampleApp();
    return {
      app,
      ctx: { ...ctx, registry: { host: ctx.registry.host, insecure: false, plainHttp: false } },
    };
  },
};

describe("Trigger <-> Pipeline contract", function () {
  this.timeout(60000);

  for (const [label, setup] of Object.entries(setups)) {
    describe(label, function () {
      const { app, ctx } = setup();
      const pipeline = buildPipeline(app, ctx);
      const run = triggerObjects(app, ctx).template.spec.resourcetemplates[0];

      it("runs the app's Pipeline by name", () => {
        assert.equal(run.spec.pipelineRef.name, pipeline.metadata.name);
      });

      it("supplies exactly the Pipeline params that have no default", () => {
        const required = pipeline.spec.params
          .filter((p) => p.default === undefined)
          .map((p) => p.name)
          .sort();
        assert.deepEqual(run.spec.params.map((p) => p.name).sort(), required);
      });

      it("leaves every other Pipeline param to its default from config", () => {
        // The run sets the three values a push decides; the rest come from config through the
        // Pipeline's defaults. A param gained or lost on either side fails here.
        const supplied = run.spec.params.map((p) => p.name);
        assert.deepEqual(supplied.sort(), ["operations-url", "revision", "source-url"]);
        assert.deepEqual(
          pipeline.spec.params
            .filter((p) => !supplied.includes(p.name))
            .map((p) => [p.name, p.default]),
          [
            ["source-branch", app.branch],
            ["registry-host", ctx.registry.host],
            ["image-repository", app.imageRepository],
            ["dockerfile", app.dockerfile],
            ["context-dir", app.contextDir],
            ["cache-repository", `${app.imageRepository}/cache`],
            ["operations-branch", ""],
            ["deployment-file", app.deploymentFile],
            ["container-name", app.containerName],
          ],
        );
      });

      it("gives a ServiceAccount of its own only to tasks the Pipeline has: build and cancel", () => {
        const specs = run.spec.taskRunSpecs ?? [];
        for (const spec of specs) {
          assert.ok(pipeline.spec.tasks.some((t) => t.name === spec.pipelineTaskName));
        }
        assert.deepEqual(specs, [
          ...(!("username" in ctx.registry) || ctx.registry.username === undefined
            ? []
            : [{ pipelineTaskName: "build-and-push", serviceAccountName: "tekton-build-push" }]),
          // cancelSuperseded is on by default: only the cancel task holds an API token.
          { pipelineTaskName: "cancel-superseded", serviceAccountName: "tekton-cancel" },
        ]);
      });

      it("binds exactly the workspaces the Pipeline declares", () => {
        const declared = pipeline.spec.workspaces.map((w) => w.name);
        assert.deepEqual(
          run.spec.workspaces.map((w) => w.name),
          declared,
        );
        assert.deepEqual(declared, pipelineWorkspaces(ctx, app));
      });

      it("passes tekton-lint with the Tasks and Pipeline, without errors", async () => {
        const result = await lintManifests([
          ...buildTasks(app, ctx),
          pipeline,
          ...triggerManifests(app, ctx),
        ]);
        assert.deepEqual(result.errors, [], formatProblems(result.errors));
        assert.deepEqual(result.warnings, [], formatProblems(result.warnings));
      });
    });
  }

  it("is checked by the linter: a run missing a required param is an error", async () => {
    const { app, ctx } = exampleApp();
    const [binding, template, listener] = triggerManifests(app, ctx);
    const broken = structuredClone(template);
    broken.spec.resourcetemplates[0].spec.params =
      broken.spec.resourcetemplates[0].spec.params.filter((p) => p.name !== "revision");
    const result = await lintManifests([
      ...buildTasks(app, ctx),
      buildPipeline(app, ctx),
      binding,
      broken,
      listener,
    ]);
    assert.ok(
      result.errors.some((e) => e.rule === "no-missing-param" && e.message.includes("revision")),
      formatProblems(result.errors),
    );
  });
});
