// The resources as the program registers them, under the shared Pulumi mocks.
import { registered, resolve, settle, isSecret } from "../harness/mocks";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { DeployKey, ProjectHook } from "../../components/gitlab";
import { FakeGitLab, fakePublicKey } from "./fakeGitLab";
import { capturingStderr } from "./helpers";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Config } = require("@pulumi/pulumi/cmd/dynamic-provider/config");

const API_TOKEN = "glpat-stack-config-token-not-real";
const ENV_TOKEN = "glpat-environment-token-not-real";
const HOOK_TOKEN = "webhook-token-not-real";
const KEY = `${fakePublicKey("mocked")}\n`;

function registration(type: string, name: string) {
  // Not reset between files (others may still assert on theirs): names are unique instead.
  const found = [...registered].reverse().find((r) => r.type === type && r.name === name);
  assert.ok(found, `${type} ${name} was not registered`);
  return found;
}

describe("gitlab resources under Pulumi mocks", function () {
  this.timeout(20_000);
  let savedConfig: Record<string, string>;
  let savedEnv: string | undefined;
  let deployKey: DeployKey;
  let hook: ProjectHook;

  before(async () => {
    // The token is everywhere a careless provider could pick it up while the program runs.
    savedConfig = pulumi.runtime.allConfig();
    savedEnv = process.env.GITLAB_TOKEN;
    pulumi.runtime.setAllConfig(
      { ...savedConfig, "gitlab:baseUrl": "https://gitlab.example.com", "gitlab:token": API_TOKEN },
      ["gitlab:token"],
    );
    process.env.GITLAB_TOKEN = ENV_TOKEN;
    deployKey = new DeployKey("gitlab-test-key", {
      project: "root/hello-python",
      title: "tekton-hello-python",
      key: KEY,
      expiresAt: "2030-01-31",
    });
    hook = new ProjectHook("gitlab-test-hook", {
      project: "root/hello-python",
      url: "https://tekton.example.com/hooks/hello-python",
      token: pulumi.output(HOOK_TOKEN),
      pushEventsBranchFilter: "main",
    });
    await settle();
  });

  after(() => {
    pulumi.runtime.setAllConfig(savedConfig, []);
    if (savedEnv === undefined) delete process.env.GITLAB_TOKEN;
    else process.env.GITLAB_TOKEN = savedEnv;
  });

  it("registers a DeployKey with its inputs under a gitlab type token", async () => {
    const r = registration("pulumi-nodejs:dynamic/gitlab:DeployKey", "gitlab-test-key");
    assert.equal(r.custom, true);
    const { __provider, ...inputs } = r.inputs;
    assert.equal(typeof __provider, "string");
    assert.deepEqual(inputs, {
      project: "root/hello-python",
      title: "tekton-hello-python",
      key: KEY,
      canPush: false,
      expiresAt: "2030-01-31",
    });
    assert.deepEqual(r.secretPaths, []);
    assert.equal(await resolve(deployKey.deployKeyId), 4242);
    assert.equal(await resolve(deployKey.fingerprintSha256), "SHA256:mock-gitlab-test-key");
  });

  it("registers a ProjectHook with defaults and the token as a secret", async () => {
    const r = registration("pulumi-nodejs:dynamic/gitlab:ProjectHook", "gitlab-test-hook");
    const inputs = { ...r.inputs };
    delete inputs.__provider;
    assert.deepEqual(inputs, {
      project: "root/hello-python",
      url: "https://tekton.example.com/hooks/hello-python",
      token: HOOK_TOKEN,
      pushEvents: true,
      pushEventsBranchFilter: "main",
      enableSslVerification: true,
      mergeRequestsEvents: false,
      tagPushEvents: false,
    });
    assert.deepEqual(r.secretPaths, ["token"]);
    assert.deepEqual(r.additionalSecretOutputs, ["token"]);
    assert.equal(await isSecret(hook.token), true);
    assert.equal(await resolve(hook.hookId), 4343);
  });

  it("registers noteEvents only when the program asks for comments (issue 21)", async () => {
    // Without it, a hook's registered inputs stay as before issue 21 (`check` adds the default).
    const plain = registration("pulumi-nodejs:dynamic/gitlab:ProjectHook", "gitlab-test-hook");
    assert.equal("noteEvents" in plain.inputs, false);
    const withNotes = new ProjectHook("gitlab-test-hook-notes", {
      project: "root/hello-python",
      url: "https://tekton.example.com/hooks/hello-python-mr",
      token: pulumi.output(HOOK_TOKEN),
      mergeRequestsEvents: true,
      noteEvents: true,
    });
    await settle();
    const r = registration("pulumi-nodejs:dynamic/gitlab:ProjectHook", "gitlab-test-hook-notes");
    assert.equal(r.inputs.noteEvents, true);
    assert.equal(r.inputs.mergeRequestsEvents, true);
    assert.equal(await resolve(withNotes.noteEvents), true);
  });

  it("serializes providers that hold no token (config or env) and no hook token", () => {
    for (const type of ["DeployKey", "ProjectHook"]) {
      const name = type === "DeployKey" ? "gitlab-test-key" : "gitlab-test-hook";
      const text: string = registration(`pulumi-nodejs:dynamic/gitlab:${type}`, name).inputs
        .__provider;
      assert.match(text, /exports\.handler/);
      for (const secret of [API_TOKEN, ENV_TOKEN, HOOK_TOKEN]) {
        assert.ok(!text.includes(secret), `${type} provider closure contains a token`);
      }
      // Nothing of the Pulumi SDK or the test process is captured: only our GitLab code.
      assert.ok(!/require\("@pulumi/.test(text), `${type} provider closure requires the SDK`);
    }
  });

  it("the serialized providers load and work the way the provider process runs them", async () => {
    const fake = await FakeGitLab.start();
    try {
      fake.addProject("root/hello-python");
      const config = new Config(
        { "gitlab:baseUrl": fake.url, "gitlab:token": fake.token },
        "tekton-gitlab",
      );

      // A registration's provider, loaded from its text and configured as the host does.
      const loaded = async (type: string, name: string) => {
        const { inputs } = registration(`pulumi-nodejs:dynamic/gitlab:${type}`, name);
        const provider = requireFromString(inputs.__provider).handler();
        await provider.configure({ config });
        return { text: inputs.__provider as string, provider, inputs };
      };

      const {
        text: keyText,
        provider: keyProvider,
        inputs: keyInputs,
      } = await loaded("DeployKey", "gitlab-test-key");
      const checked = await keyProvider.check({}, keyInputs);
      assert.deepEqual(checked.failures, []);
      const created = await keyProvider.create(checked.inputs);
      assert.match(created.id, /^root\/hello-python:\d+$/);
      assert.equal(fake.deployKeysOf("root/hello-python").length, 1);

      const { provider: hookProvider, inputs: hookInputs } = await loaded(
        "ProjectHook",
        "gitlab-test-hook",
      );
      const hookCreated = await hookProvider.create(hookInputs);
      assert.equal(fake.hookToken("root/hello-python", hookCreated.outs.hookId), HOOK_TOKEN);

      // Retries show on the provider's stderr (the engine's diagnostics), token-free.
      fake.inject({ method: "DELETE", status: 429, headers: { "Retry-After": "0" } });
      const lines = await capturingStderr(() =>
        hookProvider.delete(hookCreated.id, hookCreated.outs),
      );
      assert.deepEqual(fake.hooksOf("root/hello-python"), []);
      assert.equal(lines.length, 1);
      assert.match(
        lines[0],
        /^GitLab DELETE \/projects\/root%2Fhello-python\/hooks\/\d+: rate limited/,
      );
      for (const secret of [fake.token, HOOK_TOKEN]) assert.ok(!lines[0].includes(secret));

      // A hook whose project the token no longer sees is not taken as deleted, and the error
      // survives serialization: the host reports `error.message`, which a serialized
      // `class extends Error` leaves empty.
      const again = await hookProvider.create(hookInputs);
      fake.hideProject("root/hello-python");
      const failure = await hookProvider.delete(again.id, again.outs).then(
        () => assert.fail("delete succeeded on a project the token cannot see"),
        (error: unknown) => error as Error & { status?: number },
      );
      assert.equal(failure.status, 404);
      assert.ok(failure instanceof Error);
      assert.equal(failure.name, "GitLabApiError");
      assert.match(
        failure.message,
        /answered 404 Project Not Found\. Project "root\/hello-python"/,
      );
      assert.match(String(failure.stack), /^GitLabApiError: GitLab could not delete hook/);
      await assert.rejects(keyProvider.read(created.id, created.outs), /not visible to the token/);
      assert.equal(fake.hooksOf("root/hello-python").length, 1);

      const misconfigured = requireFromString(keyText).handler();
      await misconfigured.configure({
        config: new Config({ "gitlab:baseUrl": "gitlab", "gitlab:token": fake.token }, "t"),
      });
      await assert.rejects(misconfigured.delete(created.id, created.outs), (error: Error) => {
        assert.ok(error instanceof Error);
        assert.equal(error.name, "GitLabConfigError");
        assert.match(error.message, /^gitlab:baseUrl must be the GitLab instance URL/);
        return true;
      });
    } finally {
      await fake.close();
    }
  });
});
