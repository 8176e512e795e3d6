import * as assert from "node:assert/strict";
import { renderManifests } from "../../tekton/render";
import { formatProblems, lintManifests } from "../harness/tektonLint";
import { multiAppStack, stack } from "./helpers";

describe("tekton-lint on the rendered pipelines", function () {
  this.timeout(60000);

  const cases = {
    "the example stack (Pulumi.dev.yaml)": () => stack(),
    "a three-app stack": () => multiAppStack(),
    "an anonymous registry without a CA": () =>
      multiAppStack({ registry: ({ username: _u, caCert: _c, ...rest }) => rest }),
    "an insecure registry and a custom SSH port": () =>
      stack({
        registry: ({ caCert: _c, ...rest }) => ({ ...rest, insecure: true }),
        gitSsh: (ssh) => ({
          ...ssh,
          port: 2222,
          knownHosts: ssh.knownHosts.replace(/^(\S+)/gm, "[$1]:2222"),
        }),
      }),
    "a plain-HTTP registry and custom build resources": () =>
      stack({
        registry: ({ caCert: _c, ...rest }) => ({ ...rest, plainHttp: true }),
        apps: ([a]) => [{ ...a, build: { resources: { limits: { memory: "8Gi", cpu: "2" } } } }],
      }),
    "status reporting with GitLab's CA (gitlab:cacertFile)": () => {
      const config = stack();
      return { ...config, gitlab: { ...config.gitlab!, caCert: "-----BEGIN CERTIFICATE-----\n" } };
    },
    "status reporting off": () => stack({ apps: ([a]) => [{ ...a, statusReporting: false }] }),
    "an app with cancelSuperseded: false": () =>
      stack({ apps: ([a]) => [{ ...a, cancelSuperseded: false }] }),
  };

  for (const [name, config] of Object.entries(cases)) {
    it(`finds zero errors (and zero warnings) in ${name}`, async () => {
      const manifests = renderManifests(config()).map((m) => m.manifest);
      const result = await lintManifests(manifests);
      assert.equal(result.errors.length, 0, formatProblems(result.errors));
      assert.equal(result.warnings.length, 0, formatProblems(result.warnings));
    });
  }

  it("checks each app's Trigger references (a missing template is reported)", async () => {
    const manifests = renderManifests(stack()).map((m) => structuredClone(m.manifest)) as any[];
    const trigger = manifests.find((m) => m.kind === "Trigger");
    trigger.spec.template.ref = "no-such-template";
    const result = await lintManifests(manifests);
    assert.deepEqual(
      result.errors.map((e) => e.rule),
      ["no-missing-resource"],
      formatProblems(result.errors),
    );
  });

  it("does catch a broken wiring (the lint is not vacuous)", async () => {
    const [tag, build, patch, status, cancel, pipeline] = renderManifests(stack()).map((m) =>
      structuredClone(m.manifest),
    ) as any[];
    assert.equal(cancel.metadata.name, "cancel-superseded");
    pipeline.spec.tasks[2].params = pipeline.spec.tasks[2].params.filter(
      (p: any) => p.name !== "image-digest",
    );
    tag.spec.steps[0].image = "docker.io/alpine/git";
    const result = await lintManifests([tag, build, patch, status, cancel, pipeline]);
    assert.deepEqual(
      result.errors.map((e) => e.rule),
      ["no-missing-param"],
      formatProblems(result.errors),
    );
    assert.deepEqual(
      result.warnings.map((w) => w.rule),
      ["no-latest-image"],
    );
  });
});
