// The merge request status links to the run on the Tekton Dashboard (issue 21, item 5), within
// GitLab's target_url limit (gitlabhq app/models/generic_commit_status.rb: 255 characters).
import * as assert from "node:assert/strict";
import { mergeRequestPipeline } from "../../tekton/mergeRequest/pipeline";
import { allPipelineTasks, appAndContext } from "../build/helpers";

describe("merge request builds: the status links to the run on the dashboard", () => {
  const { app: base, ctx } = appAndContext();
  const app = { ...base, mergeRequests: { ...base.mergeRequests, build: true } };
  const links = (dashboardUrl: string | undefined) =>
    allPipelineTasks(mergeRequestPipeline(app, { ...ctx, dashboardUrl }))
      .filter((t) => t.name.startsWith("report-"))
      .map((t) => t.params.find((p) => p.name === "target-url")!.value);

  it("points report-running and report-result at the run's page", () => {
    assert.deepEqual(links("https://tekton.example.com/"), [
      "https://tekton.example.com/#/namespaces/python-hello-build/pipelineruns/$(context.pipelineRun.name)",
      "https://tekton.example.com/#/namespaces/python-hello-build/pipelineruns/$(context.pipelineRun.name)",
    ]);
  });

  it("links nothing without a dashboard URL", () => {
    assert.deepEqual(links(undefined), ["", ""]);
  });

  it("leaves the link out when the merge request run's longest name could take it past 255", () => {
    // generateName `build-<app>-merge-request-` plus 5 characters: longer than a push run's.
    const runName = `build-${app.name}-merge-request-abcde`;
    const fixed = `/#/namespaces/${app.namespace}/pipelineruns/${runName}`.length;
    const host = (extra: number) =>
      `https://${"a".repeat(255 - fixed - "https://".length - ".io".length + extra)}.io`;
    assert.ok(links(host(0))[0].startsWith(`${host(0)}/#/namespaces/`));
    assert.deepEqual(links(host(1)), ["", ""]);
  });
});
