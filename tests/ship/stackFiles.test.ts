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
        ...config.apps.map((app) => app.webhookHost),
      ];
      for (const host of hosts(prod)) assert.ok(!hosts(dev).includes(host), host);
      assert.notEqual(
        exampleConfig("prod")["gitlab:baseUrl"],
        exampleConfig("dev")["gitlab:baseUrl"],
      );
    });

    it("shows several apps with TLS Ingresses, class and annotations", () => {
      assert.ok(prod.apps.length >= 2);
      for (const app of prod.apps) {
        assert.ok(app.ingress.className, `${app.name}: ingress.className`);
        assert.ok(app.ingress.tlsSecretName, `${app.name}: ingress.tlsSecretName`);
        assert.ok(Object.keys(app.ingress.annotations ?? {}).length > 0, app.name);
        assert.equal(app.webhook.tls, true, app.name);
        assert.equal(app.webhook.sslVerification, true, app.name);
      }
      assert.equal(prod.registry.insecure, false);
    });
  });
});
