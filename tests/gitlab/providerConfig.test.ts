import * as assert from "node:assert/strict";
import { DeployKeyProvider } from "../../components/gitlab/deployKey";
import { ProjectHookProvider } from "../../components/gitlab/projectHook";
import { resolveGitLabSettings } from "../../components/gitlab/providerConfig";
import { FakeGitLab, fakePublicKey } from "./fakeGitLab";
import { capturingStderr, fakeGitLabPerTest, rejection, seen } from "./helpers";

// The Config object the Node.js dynamic provider host hands to `configure`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Config } = require("@pulumi/pulumi/cmd/dynamic-provider/config");

const PROJECT = "root/hello-python";

function stackConfig(values: Record<string, string>) {
  return { config: new Config(values, "tekton-gitlab") };
}

describe("gitlab provider configuration", function () {
  let fake: FakeGitLab;
  fakeGitLabPerTest(PROJECT, (started) => (fake = started));

  it("prefers stack config and falls back to the environment per key", () => {
    const config = { get: (key: string) => ({ "gitlab:baseUrl": "https://a.example" })[key] };
    assert.deepEqual(
      resolveGitLabSettings(config, {
        GITLAB_BASE_URL: "https://b.example",
        GITLAB_TOKEN: "from-env",
      }),
      { baseUrl: "https://a.example", token: "from-env" },
    );
  });

  it("says which keys are missing and both ways to set them", () => {
    assert.throws(
      () => resolveGitLabSettings(undefined, {}),
      (error: Error) =>
        /gitlab:baseUrl/.test(error.message) &&
        /GITLAB_BASE_URL/.test(error.message) &&
        /gitlab:token/.test(error.message) &&
        /GITLAB_TOKEN/.test(error.message) &&
        /pulumi config set --secret gitlab:token/.test(error.message),
    );
    assert.throws(
      () => resolveGitLabSettings(undefined, { GITLAB_BASE_URL: "https://gitlab.example.com" }),
      (error: Error) => /gitlab:token/.test(error.message) && !/gitlab:baseUrl/.test(error.message),
    );
  });

  it("uses gitlab:baseUrl and gitlab:token from configure(req)", async () => {
    const provider = new DeployKeyProvider({ env: {} });
    await provider.configure(
      stackConfig({ "gitlab:baseUrl": `${fake.url}/api/v4/`, "gitlab:token": fake.token }),
    );
    const { id } = await provider.create({
      project: PROJECT,
      title: "configured",
      key: fakePublicKey("configured"),
      canPush: false,
    });
    assert.match(id, /^root\/hello-python:\d+$/);
    assert.equal(fake.requests[0].headers["private-token"], fake.token);
  });

  it("falls back to GITLAB_BASE_URL / GITLAB_TOKEN when the stack has no gitlab config", async () => {
    const provider = new ProjectHookProvider({
      env: { GITLAB_BASE_URL: fake.url, GITLAB_TOKEN: fake.token },
    });
    await provider.configure(stackConfig({ "tekton-gitlab:apps": "[]" }));
    await provider.create({
      project: PROJECT,
      url: "https://ci.example.com/hook",
      pushEvents: true,
      enableSslVerification: true,
      mergeRequestsEvents: false,
      noteEvents: false,
      tagPushEvents: false,
    });
    assert.equal(fake.hooksOf(PROJECT).length, 1);
  });

  it("fails API calls with a clear error when neither is set, but check and diff work", async () => {
    const provider = new DeployKeyProvider({ env: {} });
    await provider.configure(stackConfig({}));
    const news = { project: PROJECT, title: "t", key: fakePublicKey("x"), canPush: false };
    assert.deepEqual((await provider.check({}, news)).failures, []);
    await rejection(
      provider.create(news),
      fake.token,
      /GitLab is not configured\. Set gitlab:baseUrl .* or env GITLAB_BASE_URL; and gitlab:token/,
    );
    assert.equal(fake.requests.length, 0);
  });

  it("reports retries on stderr by default, with the token redacted", async () => {
    // A token pasted where the project belongs ends up in the request path: the line must
    // still not show it.
    const leaky = `leaky/${fake.token}`;
    fake.addProject(leaky);
    const provider = new DeployKeyProvider({
      env: { GITLAB_BASE_URL: fake.url, GITLAB_TOKEN: fake.token },
      client: { sleep: async () => undefined },
    });
    fake.inject({ method: "DELETE", status: 429, headers: { "Retry-After": "45" } });
    fake.inject({ method: "GET", status: 502, body: "<html>Bad Gateway</html>" });
    const lines = await capturingStderr(async () => {
      await provider.delete(`${leaky}:1`).catch(() => undefined);
      await provider.read(`${PROJECT}:1`);
    });
    assert.equal(lines.length, 2, lines.join("\n"));
    assert.match(
      lines[0],
      /^GitLab DELETE \/projects\/leaky%2F\[redacted\]\/deploy_keys\/1: rate limited; retrying in 45\.0s \(attempt 2 of 6\)\.$/,
    );
    assert.match(lines[1], /GET .*server error 502; retrying in/);
    for (const line of lines) assert.ok(!line.includes(fake.token), `token in: ${line}`);
  });

  it("an injected log replaces stderr", async () => {
    const logged: string[] = [];
    const provider = new ProjectHookProvider({
      env: { GITLAB_BASE_URL: fake.url, GITLAB_TOKEN: fake.token },
      client: { sleep: async () => undefined, log: (line) => logged.push(line) },
    });
    fake.inject({ status: 429, headers: { "Retry-After": "1" } });
    const lines = await capturingStderr(() => provider.read(`${PROJECT}:1`));
    assert.deepEqual(lines, []);
    assert.equal(logged.length, 1);
    seen.logs.push(...logged);
  });

  it("reports a malformed gitlab:baseUrl by name", async () => {
    const provider = new DeployKeyProvider({ env: {} });
    await provider.configure(stackConfig({ "gitlab:baseUrl": "gitlab", "gitlab:token": "t0ken" }));
    await rejection(provider.delete("root/hello-python:1"), "t0ken", /gitlab:baseUrl must be/);
  });
});
