// Who holds which credential, computed from the registered objects as Tekton would mount them
// (tests/harness/credentialReach.ts): the README's credential table, as a test.
import "./harness/mocks";
import * as assert from "node:assert/strict";
import { credentialReach } from "./harness/credentialReach";
import { exampleConfig, runProgram, withStructured } from "./harness/program";

async function reachOf(config: Record<string, string>) {
  const run = await runProgram(config);
  assert.ifError(run.error);
  return credentialReach(run, "python-hello-build");
}

describe("credentials reach only the step that needs them", function () {
  this.timeout(20000);

  it("git-pull in the clone, the registry in Kaniko, git-write in the git steps of patch", async () => {
    assert.deepEqual(await reachOf(exampleConfig()), {
      "generate-image-tag": { "clone-and-tag": ["git-pull"] },
      "build-and-push": { "build-and-push": ["registry-credentials"] },
      "patch-deployment": {
        clone: ["git-write"],
        "set-image": [],
        "commit-and-push": ["git-write"],
      },
    });
  });

  it("an anonymous registry: the Kaniko pod holds no credential at all", async () => {
    const config = withStructured(exampleConfig(), "registry", (r) => ({ host: r.host }));
    delete config["tekton-gitlab:registryPassword"];
    const reach = await reachOf(config);
    assert.deepEqual(reach["build-and-push"], { "build-and-push": [] });
    assert.deepEqual(reach["generate-image-tag"], { "clone-and-tag": ["git-pull"] });
  });
});
