// components/gitlab/provider.ts `provider(kind)` is what the state's forwarder runs on every
// `up`, `refresh` and `destroy`. The soak (scripts/soak.ts) must drive that same object, the
// `migrating` wrapper included, with its virtual clock: so `provider` takes the client options.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { provider } from "../../components/gitlab/provider";
import { FakeGitLab, fakePublicKey } from "./fakeGitLab";
import { fakeGitLabPerTest } from "./helpers";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Config } = require("@pulumi/pulumi/cmd/dynamic-provider/config");

const PROJECT = "root/entry";

describe("gitlab provider entry (what the state's forwarder runs)", () => {
  let fake: FakeGitLab;
  fakeGitLabPerTest(PROJECT, (started) => (fake = started));

  it("hands its options to the implementation: env fallback and client hooks", async () => {
    const waits: number[] = [];
    const logs: string[] = [];
    const deployKeys = provider("DeployKey", {
      env: { GITLAB_BASE_URL: fake.url, GITLAB_TOKEN: fake.token },
      client: {
        sleep: async (ms: number) => {
          waits.push(ms);
        },
        log: (line: string) => logs.push(line),
      },
    });
    await deployKeys.configure!({ config: new Config({}, "entry") });
    fake.inject({
      method: "POST",
      pathIncludes: "/deploy_keys",
      status: 429,
      headers: { "Retry-After": "7" },
      body: { message: "429 Too Many Requests" },
    });
    const inputs = { project: PROJECT, title: "t", key: fakePublicKey("entry"), canPush: false };
    const checked = await deployKeys.check!({}, inputs);
    const created = await deployKeys.create(checked.inputs);
    assert.equal(created.id.startsWith(`${PROJECT}:`), true, created.id);
    assert.equal(fake.deployKeysOf(PROJECT).length, 1);
    // The wait GitLab asked for went to the injected clock, not to a real timer.
    assert.deepEqual(waits, [7000]);
    assert.ok(logs.length > 0, "the injected log got the retry");
  });

  it("serializes by value and still works, so the soak can load it as the host loads a provider", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const requireFromString = require("require-from-string");
    const original = provider("DeployKey", { env: {} });
    const { text } = await pulumi.runtime.serializeFunction(() => original, {
      allowSecrets: true,
    });
    const loaded = requireFromString(text).handler();
    await loaded.configure({
      config: new Config({ "gitlab:baseUrl": fake.url, "gitlab:token": fake.token }, "entry"),
    });
    const inputs = { project: PROJECT, title: "t", key: fakePublicKey("by-value"), canPush: false };
    const created = await loaded.create((await loaded.check({}, inputs)).inputs);
    const olds = { ...created.outs, __provider: "a" };
    // migrating: a changed __provider alone is a change, answered without a GitLab call.
    const diff = await loaded.diff(created.id, olds, { ...inputs, __provider: "b" });
    assert.equal(diff.changes, true);
    const before = fake.requests.length;
    await loaded.update(created.id, olds, { ...inputs, __provider: "b" });
    assert.equal(fake.requests.length, before);
  });
});
