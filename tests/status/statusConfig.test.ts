// How the status steps find GitLab (issue 12): gitlab:baseUrl (or GITLAB_BASE_URL),
// gitlab:cacertFile and gitlab:insecure, the keys the stack's GitLab provider reads, resolved at
// program time; and what the program registers for them.
import "../harness/mocks";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolveGitLabEndpoint } from "../../config/gitlabEndpoint";
import { ConfigError, parseStackConfig } from "../../config/load";
import { exampleConfig, runProgram, withStructured } from "../harness/program";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";

function problemsOf(raw: Record<string, string>, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseStackConfig(raw, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("the status steps' way to GitLab", function () {
  this.timeout(20000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "status-config-"));
    fs.writeFileSync(path.join(dir, "ca.pem"), CA);
    fs.writeFileSync(path.join(dir, "not-a-cert.txt"), "hello");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("is gitlab:baseUrl normalised to its API, verified TLS, no CA by default", () => {
    assert.deepEqual(parseStackConfig(exampleConfig(), {}).gitlab, {
      apiUrl: "https://gitlab.apps.192-168-2-114.nip.io/api/v4",
      insecure: false,
    });
  });

  it("falls back to env GITLAB_BASE_URL like the provider", () => {
    const raw = exampleConfig();
    delete raw["gitlab:baseUrl"];
    const config = parseStackConfig(raw, {
      GITLAB_BASE_URL: "https://gitlab.example.com/",
      GITLAB_TOKEN: "x",
    });
    assert.equal(config.gitlab?.apiUrl, "https://gitlab.example.com/api/v4");
  });

  it("reads gitlab:cacertFile and gitlab:insecure", () => {
    const config = parseStackConfig(
      {
        ...exampleConfig(),
        "gitlab:cacertFile": path.join(dir, "ca.pem"),
        "gitlab:insecure": "false",
      },
      {},
    );
    assert.equal(config.gitlab?.caCert, CA);
    assert.equal(config.gitlab?.insecure, false);
    const insecure = parseStackConfig({ ...exampleConfig(), "gitlab:insecure": "true" }, {});
    assert.equal(insecure.gitlab?.insecure, true);
  });

  it("reports an unreadable or non-PEM gitlab:cacertFile and a bad gitlab:insecure by key", () => {
    const missing = path.join(dir, "nope.pem");
    assert.deepEqual(problemsOf({ ...exampleConfig(), "gitlab:cacertFile": missing }), [
      `gitlab:cacertFile: cannot read "${missing}" (ENOENT); expected the path of a PEM file holding the CA that signed GitLab's certificate`,
    ]);
    const text = path.join(dir, "not-a-cert.txt");
    assert.match(
      problemsOf({ ...exampleConfig(), "gitlab:cacertFile": text }).join("\n"),
      /^gitlab:cacertFile: ".*not-a-cert.txt" holds no PEM certificate/,
    );
    assert.deepEqual(problemsOf({ ...exampleConfig(), "gitlab:insecure": "yes" }), [
      'gitlab:insecure: expected true or false; got "yes"',
    ]);
  });

  it("is not read at all when no app reports statuses", () => {
    const raw = withStructured(exampleConfig(), "apps", (apps) =>
      apps.map((a: any) => ({ ...a, statusReporting: false })),
    );
    const config = parseStackConfig({ ...raw, "gitlab:cacertFile": path.join(dir, "nope") }, {});
    assert.equal(config.gitlab, undefined);
  });

  it("requires gitlab:baseUrl for an app reporting statuses with a Secret of its own", () => {
    let read = 0;
    const resolution = resolveGitLabEndpoint({}, {}, ["tekton-gitlab:apps[0]"], false, () => {
      read++;
      return CA;
    });
    assert.equal(resolution.endpoint, undefined);
    assert.deepEqual(resolution.problems, [
      "gitlab:baseUrl: required (or env GITLAB_BASE_URL) for the build status in GitLab of tekton-gitlab:apps[0]: the status steps post to its API; or set statusReporting: false on those apps",
    ]);
    assert.equal(read, 0);
    // Said once: the deploy-key check already asks for it.
    assert.deepEqual(resolveGitLabEndpoint({}, {}, ["tekton-gitlab:apps[0]"], true).problems, []);
  });

  it("the program: ConfigMap gitlab-ca with the CA, bound to the run, when gitlab:cacertFile is set", async () => {
    const run = await runProgram({
      ...exampleConfig(),
      "gitlab:cacertFile": path.join(dir, "ca.pem"),
    });
    assert.ifError(run.error);
    const configMap = run.resources.find(
      (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.metadata.name === "gitlab-ca",
    );
    assert.ok(configMap, "no ConfigMap gitlab-ca");
    assert.equal(configMap.inputs.metadata.namespace, "python-hello-build");
    assert.deepEqual(configMap.inputs.data, { "ca.crt": CA });
    const template = run.resources.find(
      (r) => r.type === "kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate",
    )!;
    const workspaces = template.inputs.spec.resourcetemplates[0].spec.workspaces;
    assert.deepEqual(
      workspaces.find((w: any) => w.name === "gitlab-ca"),
      { name: "gitlab-ca", configMap: { name: "gitlab-ca" } },
    );
  });

  it("the program: no gitlab-ca ConfigMap without gitlab:cacertFile", async () => {
    const run = await runProgram(exampleConfig());
    assert.ifError(run.error);
    assert.ok(
      !run.resources.some(
        (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.metadata.name === "gitlab-ca",
      ),
    );
  });
});
