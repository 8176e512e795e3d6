// Every Pulumi.<stack>.yaml beside the program is a config the program accepts, and none holds
// a secret in plain text.
import "../harness/mocks";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { parseStackConfig } from "../../config/load";
import { REPO_ROOT, exampleConfig } from "../harness/program";

const stacks = fs
  .readdirSync(REPO_ROOT)
  .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
  .filter((stack): stack is string => stack !== undefined);

/** Config keys whose values are secrets: they may only appear encrypted (`secure:`). */
const SECRET_KEYS = ["gitlab:token", "tekton-gitlab:registryPassword"];

describe("stack files", () => {
  it("include dev and a production example", () => {
    assert.ok(stacks.includes("dev") && stacks.includes("prod"), `stacks: ${stacks}`);
  });

  for (const stack of stacks) {
    describe(`Pulumi.${stack}.yaml`, () => {
      it("validates (with test secrets)", () => {
        const config = parseStackConfig(exampleConfig(stack));
        assert.ok(config.apps.length > 0);
      });

      it("holds secrets only encrypted", () => {
        const text = fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8");
        const values: Record<string, unknown> = parse(text)?.config ?? {};
        for (const key of SECRET_KEYS) {
          if (key in values) {
            const value = values[key];
            assert.ok(
              value !== null && typeof value === "object" && "secure" in value,
              `${key} must be set with pulumi config set --secret`,
            );
          }
        }
        assert.doesNotMatch(text, /PRIVATE KEY-----|glpat-/);
      });
    });
  }

  describe("the production example", () => {
    const prod = parseStackConfig(exampleConfig("prod"));
    const dev = parseStackConfig(exampleConfig("dev"));

    it("is a different environment from dev: other hosts, GitLab and registry", () => {
      const hosts = (config: typeof dev) => [
        config.gitSsh.host,
        config.registry.host,
        config.listener.host!,
      ];
      for (const host of hosts(prod)) assert.ok(!hosts(dev).includes(host), host);
      assert.notEqual(
        exampleConfig("prod")["gitlab:baseUrl"],
        exampleConfig("dev")["gitlab:baseUrl"],
      );
    });

    it("shows several apps behind one TLS listener with class and annotations", () => {
      assert.ok(prod.apps.length >= 2);
      const { listener } = prod;
      assert.equal(listener.host, "builds.example.com");
      assert.equal(listener.namespace, "tekton-gitlab-listener");
      assert.ok(listener.ingress.className, "listener.ingress.className");
      assert.ok(listener.ingress.tlsSecretName, "listener.ingress.tlsSecretName");
      assert.ok(Object.keys(listener.ingress.annotations ?? {}).length > 0);
      assert.equal(listener.webhook.tls, true);
      assert.equal(listener.webhook.sslVerification, true);
      for (const stack of ["dev", "prod"]) {
        const raw = JSON.parse(exampleConfig(stack)["tekton-gitlab:apps"]);
        for (const app of raw) {
          for (const gone of ["webhookHost", "ingress", "webhook"]) {
            assert.ok(!(gone in app), `${stack} ${app.name} still sets ${gone}`);
          }
        }
      }
      assert.equal(prod.registry.insecure, false);
    });
  });
});
