import { isSecretAt } from "../harness/mocks";
import * as assert from "node:assert/strict";
import { ProgramRun, exampleConfig, runProgram, withStructured } from "../harness/program";
import {
  ACCESS_TOKEN,
  DEPLOY_KEY,
  PRIVATE_KEY,
  SECRET,
  findResource,
  resourcesOfType,
} from "../harness/registered";

async function run(config = exampleConfig()): Promise<ProgramRun> {
  const result = await runProgram(config);
  assert.ifError(result.error);
  return result;
}

/** The run-wide ServiceAccount (tekton-build) of the example app's build. */
const buildAccount = (result: ProgramRun) =>
  findResource(result, "kubernetes:core/v1:ServiceAccount", "hello-python-service-account");

const twoApps = () =>
  withStructured(exampleConfig(), "apps", (apps) => [
    apps[0],
    {
      ...apps[0],
      name: "billing",
      namespace: undefined,
      sourceProject: "payments/billing",
      operationsProject: "payments/billing-operations",
    },
  ]);

describe("per-app credentials", function () {
  it("creates the build namespace, labelled as managed by this stack", async () => {
    const ns = findResource(await run(), "kubernetes:core/v1:Namespace", "hello-python-namespace");
    assert.equal(ns.inputs.metadata.name, "python-hello-build");
    assert.equal(ns.inputs.metadata.labels["app.kubernetes.io/managed-by"], "tekton-gitlab");
    assert.equal(ns.inputs.metadata.labels["app.kubernetes.io/part-of"], "hello-python");
    assert.equal(ns.inputs.metadata.labels["tekton-gitlab.io/stack"], "dev");
  });

  it("generates two ED25519 keys by default and RSA 4096 on request", async () => {
    const ed = await run();
    assert.deepEqual(
      resourcesOfType(ed, PRIVATE_KEY).map((k) => [k.name, k.inputs.algorithm, k.inputs.rsaBits]),
      [
        ["hello-python-source-key", "ED25519", undefined],
        ["hello-python-operations-key", "ED25519", undefined],
      ],
    );
    const rsa = await run(
      withStructured(exampleConfig(), "apps", ([a]) => [{ ...a, keyAlgorithm: "RSA" }]),
    );
    for (const key of resourcesOfType(rsa, PRIVATE_KEY)) {
      assert.equal(key.inputs.algorithm, "RSA");
      assert.equal(key.inputs.rsaBits, 4096);
    }
  });

  it("registers the pull key read-only on the source and the push key writable on operations", async () => {
    const result = await run();
    const source = findResource(result, DEPLOY_KEY, "hello-python-source-deploy-key");
    const operations = findResource(result, DEPLOY_KEY, "hello-python-operations-deploy-key");
    assert.equal(source.inputs.project, "root/hello-python");
    assert.equal(source.inputs.canPush, false);
    assert.equal(
      source.inputs.key.trim(),
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5-mock-hello-python-source-key",
    );
    assert.equal(operations.inputs.project, "root/hello-python-operations");
    assert.equal(operations.inputs.canPush, true);
    assert.match(operations.inputs.key, /mock-hello-python-operations-key/);
    // An admin looking at GitLab's deploy keys sees which stack, environment and app own them.
    assert.match(source.inputs.title, /^tekton-gitlab dev\/hello-python: .*read-only/);
    assert.match(operations.inputs.title, /^tekton-gitlab dev\/hello-python: .*write/);
  });

  it("writes git-pull as an ssh-auth Secret with pinned known_hosts, not for credential init", async () => {
    const pull = findResource(await run(), SECRET, "hello-python-git-pull");
    assert.equal(pull.inputs.type, "kubernetes.io/ssh-auth");
    assert.equal(pull.inputs.metadata.name, "git-pull");
    assert.equal(pull.inputs.metadata.namespace, "python-hello-build");
    // A tekton.dev/git-* annotation would let credential init mount it into every step of any
    // run whose ServiceAccount lists it; the tag task mounts it as a workspace instead.
    assert.equal(pull.inputs.metadata.annotations, undefined);
    assert.match(pull.inputs.stringData["ssh-privatekey"], /mock-hello-python-source-key/);
    assert.match(
      pull.inputs.stringData.known_hosts,
      /^gitlab-gitlab-shell\.gitlab\.svc\.cluster\.local ssh-ed25519 AAAA/,
    );
    assert.ok(isSecretAt(pull, "stringData.ssh-privatekey"));
  });

  it("writes git-write with the push key and no credential-init annotation", async () => {
    const write = findResource(await run(), SECRET, "hello-python-git-write");
    assert.equal(write.inputs.type, "kubernetes.io/ssh-auth");
    assert.equal(write.inputs.metadata.name, "git-write");
    assert.equal(write.inputs.metadata.annotations, undefined);
    assert.match(write.inputs.stringData["ssh-privatekey"], /mock-hello-python-operations-key/);
    assert.ok(write.inputs.stringData.known_hosts.includes("ssh-ed25519"));
    assert.ok(isSecretAt(write, "stringData.ssh-privatekey"));
  });

  it("builds registry credentials from host, username and the secret password", async () => {
    const secret = findResource(await run(), SECRET, "hello-python-registry-credentials");
    assert.equal(secret.inputs.type, "kubernetes.io/dockerconfigjson");
    assert.equal(secret.inputs.metadata.name, "registry-credentials");
    assert.ok(isSecretAt(secret, "stringData..dockerconfigjson"));
    const auths = JSON.parse(secret.inputs.stringData[".dockerconfigjson"]).auths;
    assert.deepEqual(auths, {
      "docker.apps.192-168-2-114.nip.io": {
        username: "tekton-builder",
        password: "test-registry-password",
        auth: Buffer.from("tekton-builder:test-registry-password").toString("base64"),
      },
    });
  });

  it("creates no registry Secret without a username and no CA ConfigMap without a CA", async () => {
    const config = withStructured(exampleConfig(), "registry", (r) => ({ host: r.host }));
    delete config["tekton-gitlab:registryPassword"];
    const result = await run(config);
    const component = findResource(result, "tekton-gitlab:app:AppCredentials", "hello-python");
    assert.deepEqual(
      resourcesOfType(result, SECRET)
        .filter((s) => s.parent === component.urn)
        .map((s) => s.inputs.metadata.name)
        .sort(),
      // gitlab-status-token: build status reporting is on by default (issue 12).
      ["git-pull", "git-write", "gitlab-status-token"],
    );
    // (The build namespace's pruner config is the app's RetentionPolicy's, tests/cluster/pruner.test.ts.)
    assert.deepEqual(
      resourcesOfType(result, "kubernetes:core/v1:ConfigMap").filter(
        (c) => c.parent === component.urn,
      ),
      [],
    );
    const sa = buildAccount(result);
    assert.equal(sa.inputs.secrets, undefined);
  });

  it("puts the registry CA in a ConfigMap the build task mounts", async () => {
    const ca = findResource(
      await run(),
      "kubernetes:core/v1:ConfigMap",
      "hello-python-registry-ca",
    );
    assert.equal(ca.inputs.metadata.name, "registry-ca");
    assert.match(ca.inputs.data["ca.crt"], /^-----BEGIN CERTIFICATE-----/);
  });

  it("lists no Secret on the run-wide ServiceAccount tekton-build (credential init mounts them all)", async () => {
    const sa = buildAccount(await run());
    assert.equal(sa.inputs.metadata.name, "tekton-build");
    assert.equal(sa.inputs.metadata.namespace, "python-hello-build");
    assert.equal(sa.inputs.secrets, undefined);
  });

  it("mounts no API token into the build's pods: no step talks to the Kubernetes API", async () => {
    const sa = buildAccount(await run());
    // Otherwise every step, Kaniko's RUN lines included, could read the account's token.
    assert.equal(sa.inputs.automountServiceAccountToken, false);
  });

  it("with manageDeployKeys: false creates no GitLab resources and exports the public keys", async () => {
    const config = withStructured(exampleConfig(), "apps", ([a]) => [
      { ...a, manageDeployKeys: false },
    ]);
    delete config["gitlab:token"];
    const result = await run(config);
    assert.deepEqual(
      result.resources.filter((r) => r.type.startsWith("pulumi-nodejs:")),
      [],
    );
    const app = result.values!.apps["hello-python"];
    assert.equal(
      app.sourceDeployKey.publicKey,
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5-mock-hello-python-source-key",
    );
    assert.equal(app.sourceDeployKey.deployKeyId, null);
    assert.equal(app.operationsDeployKey.canPush, true);
  });

  describe("the GitLab token for build status (issue 12)", () => {
    const withStatus = (statusReporting: unknown, manageDeployKeys = true) => {
      const config = withStructured(exampleConfig(), "apps", ([a]) => [
        { ...a, manageDeployKeys, statusReporting },
      ]);
      if (!manageDeployKeys) delete config["gitlab:token"];
      return config;
    };

    it("by default: a Developer project access token with the api scope on the source project, rotated before expiry", async () => {
      const result = await run();
      const token = findResource(result, ACCESS_TOKEN, "hello-python-status-token");
      assert.equal(token.inputs.project, "root/hello-python");
      assert.deepEqual(token.inputs.scopes, ["api"]);
      assert.equal(token.inputs.accessLevel, "developer");
      assert.deepEqual(token.inputs.rotationConfiguration, {
        expirationDays: 365,
        rotateBeforeDays: 30,
      });
      assert.equal(token.inputs.expiresAt, undefined, "no date from the clock in the program");
      assert.match(token.inputs.name, /^tekton-gitlab dev\/hello-python: build status$/);
      // The value is a secret output in the state (the engine encrypts these outputs).
      assert.deepEqual(token.additionalSecretOutputs, ["token"]);
    });

    it("tokenAccessLevel: maintainer, by explicit choice, for a branch only Maintainers may merge into", async () => {
      // GitLab posts a status on a branch only for a user who may push or merge there
      // (app/policies/ci/pipeline_policy.rb `protected_ref` -> `can_update_branch?`); a default
      // branch fully protected (GitLab's default) admits Maintainers only.
      const result = await run(withStatus({ tokenAccessLevel: "maintainer" }));
      const token = findResource(result, ACCESS_TOKEN, "hello-python-status-token");
      assert.equal(token.inputs.accessLevel, "maintainer");
      assert.deepEqual(token.inputs.scopes, ["api"]);
    });

    it("stores the token in Secret gitlab-status-token (key token), secret, referenced by no ServiceAccount", async () => {
      const result = await run(withStatus({ tokenLifetimeDays: 90, rotateBeforeDays: 10 }));
      const token = findResource(result, ACCESS_TOKEN, "hello-python-status-token");
      assert.deepEqual(token.inputs.rotationConfiguration, {
        expirationDays: 90,
        rotateBeforeDays: 10,
      });
      const secret = findResource(result, SECRET, "hello-python-status-token-secret");
      assert.equal(secret.inputs.metadata.name, "gitlab-status-token");
      assert.equal(secret.inputs.metadata.namespace, "python-hello-build");
      assert.equal(secret.inputs.type, "Opaque");
      assert.deepEqual(secret.inputs.stringData, {
        token: "mock-gitlab-token-hello-python-status-token",
      });
      assert.ok(isSecretAt(secret, "stringData.token"), "the token is not a secret input");
      assert.ok(secret.dependencies.includes(token.urn), "the Secret waits for the token");
      for (const sa of resourcesOfType(result, "kubernetes:core/v1:ServiceAccount")) {
        const names = [...(sa.inputs.secrets ?? []), ...(sa.inputs.imagePullSecrets ?? [])].map(
          (s: { name: string }) => s.name,
        );
        assert.ok(!names.includes("gitlab-status-token"), `${sa.name} lists the status token`);
      }
      // Tekton objects wait for the Secret like for the other credentials.
      const [pipeline] = resourcesOfType(result, "kubernetes:tekton.dev/v1:Pipeline");
      assert.ok(pipeline.dependencies.includes(secret.urn), pipeline.name);
    });

    it("statusReporting: false creates neither token nor Secret", async () => {
      const result = await run(withStatus(false));
      assert.deepEqual(resourcesOfType(result, ACCESS_TOKEN), []);
      assert.ok(!resourcesOfType(result, SECRET).some((s) => s.name.includes("status")));
    });

    it("with tokenSecretName (with or without manageDeployKeys) uses that Secret and creates no token", async () => {
      for (const manage of [true, false]) {
        const result = await run(withStatus({ tokenSecretName: "gitlab-bot-token" }, manage));
        assert.deepEqual(resourcesOfType(result, ACCESS_TOKEN), []);
        assert.ok(!resourcesOfType(result, SECRET).some((s) => s.name.includes("status")));
      }
    });
  });

  it("rotates both keys when keyRotation changes, Secrets waiting for the new deploy keys", async () => {
    const before = await run();
    const after = await run(
      withStructured(exampleConfig(), "apps", ([a]) => [{ ...a, keyRotation: "2026-11" }]),
    );
    for (const name of ["hello-python-source-key", "hello-python-operations-key"]) {
      assert.equal(findResource(before, PRIVATE_KEY, name).replacementTrigger, "");
      assert.equal(findResource(after, PRIVATE_KEY, name).replacementTrigger, "2026-11");
    }
    // The Secret is updated in place (same name) only after GitLab knows the new key; the old
    // deploy key is deleted after that, at the end of the update.
    for (const [secret, deployKey] of [
      ["hello-python-git-pull", "hello-python-source-deploy-key"],
      ["hello-python-git-write", "hello-python-operations-deploy-key"],
    ]) {
      const key = findResource(after, DEPLOY_KEY, deployKey);
      assert.ok(findResource(after, SECRET, secret).dependencies.includes(key.urn));
    }
  });

  it("never puts a private key anywhere but a secret", async () => {
    const result = await run(twoApps());
    for (const resource of result.resources) {
      const walk = (value: any, path: string) => {
        if (typeof value === "string" && value.includes("PRIVATE KEY")) {
          assert.ok(isSecretAt(resource, path), `${resource.name}.${path} is not secret`);
        } else if (value && typeof value === "object") {
          for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
        }
      };
      // __provider is a dynamic resource's serialized code (it mentions "PRIVATE KEY" in a check).
      const inputs = { ...resource.inputs };
      delete inputs.__provider;
      walk(inputs, "");
    }
    assert.ok(!JSON.stringify(result.values).includes("PRIVATE KEY"));
  });

  it("registers identical inputs when run twice with the same config", async () => {
    const strip = (r: ProgramRun) =>
      r.resources.map(({ type, name, inputs }) => ({ type, name, inputs }));
    assert.deepEqual(strip(await run(twoApps())), strip(await run(twoApps())));
  });

  it("keeps names unique across apps and one resource tree per app", async () => {
    const result = await run(twoApps());
    const keys = result.resources.map((r) => `${r.type}::${r.name}`);
    assert.equal(new Set(keys).size, keys.length);
    // `pulumi preview` shows one tree per app: everything named for an app hangs below its
    // Application, and nothing else does.
    const byUrn = new Map(result.resources.map((r) => [r.urn, r]));
    const root = (r: (typeof result.resources)[number]): string =>
      byUrn.has(r.parent) ? root(byUrn.get(r.parent)!) : r.urn;
    for (const appName of ["hello-python", "billing"]) {
      const application = findResource(result, "tekton-gitlab:app:Application", appName);
      const tree = result.resources.filter((r) => r !== application && root(r) === application.urn);
      assert.ok(tree.length >= 25, `${appName} has ${tree.length} resources`);
      for (const r of tree)
        assert.ok(r.name === appName || r.name.startsWith(`${appName}-`), r.name);
      const named = result.resources.filter((r) => r.name.startsWith(`${appName}-`));
      assert.deepEqual(
        named.filter((r) => root(r) !== application.urn),
        [],
      );
    }
    const billingNs = findResource(result, "kubernetes:core/v1:Namespace", "billing-namespace");
    assert.equal(billingNs.inputs.metadata.name, "billing-build");
  });
});
