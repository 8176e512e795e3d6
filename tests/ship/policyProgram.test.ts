// The stack must pass its own policy pack: every resource the program registers under the
// example stacks (dev and prod) goes through every policy, as `pulumi up --policy-pack` would.
import "../harness/mocks";
import * as assert from "node:assert/strict";
import {
  SOURCE_DEPLOY_KEY_SUFFIX,
  TEKTON_INSTALL_TYPE,
  isDeployKeyType,
  isTektonReleaseResource,
  noSkipTlsVerify,
  resourcePolicies,
  listenerRunsConfined,
  stackPolicies,
} from "../../policy/policies";
import { parseStackConfig } from "../../config/load";
import { renderManifests } from "../../tekton/render";
import { INSECURE_GITLAB_ANNOTATION, INSECURE_REGISTRY_ANNOTATION } from "../../tekton/core/names";
import { exampleConfig, runProgram, withStructured } from "../harness/program";
import { checkPolicy, checkStackPolicy } from "./checkPolicy";

/**
 * Every app of `config` with merge request builds on (issue 21); with push, a registry Secret
 * of their own (required beside registry.username, as in Pulumi.dev.yaml).
 */
const withMergeRequests = (config: Record<string, string>, push: boolean) =>
  withStructured(config, "apps", (apps) =>
    apps.map((app: any) => ({
      ...app,
      mergeRequests: { build: true, push, ...(push ? { registrySecretName: "mr-registry" } : {}) },
    })),
  );

describe("the program under its policy pack", function () {
  this.timeout(60000);

  const programs: [string, () => Record<string, string>][] = [
    ["Pulumi.dev.yaml", () => exampleConfig("dev")],
    ["Pulumi.prod.yaml", () => exampleConfig("prod")],
    [
      "Pulumi.dev.yaml with tekton.chains.install",
      () =>
        withStructured(exampleConfig("dev"), "tekton", (t) => ({
          ...t,
          chains: { install: true },
        })),
    ],
    [
      "Pulumi.dev.yaml with tekton.chains.install and a plain-HTTP registry",
      () =>
        withStructured(
          withStructured(exampleConfig("dev"), "tekton", (t) => ({
            ...t,
            chains: { install: true },
          })),
          "registry",
          ({ caCert: _ca, ...registry }) => ({ ...registry, plainHttp: true }),
        ),
    ],
    ...[false, true].map((push): [string, () => Record<string, string>] => [
      `Pulumi.dev.yaml with mergeRequests.build (push: ${push})`,
      () => withMergeRequests(exampleConfig("dev"), push),
    ]),
  ];
  for (const [stack, config] of programs) {
    it(`registers no resource that violates a policy (${stack})`, async () => {
      const run = await runProgram(config());
      assert.equal(run.error, undefined, run.error?.stack);
      const custom = run.resources.filter((resource) => resource.custom);
      // Not vacuous: the credentials (ssh-auth Secrets) are among what was checked.
      const sshAuth = custom.filter(
        (r) => r.type === "kubernetes:core/v1:Secret" && r.inputs.type === "kubernetes.io/ssh-auth",
      );
      assert.ok(sshAuth.length >= 2, `ssh-auth Secrets: ${sshAuth.map((r) => r.name)}`);
      const sourceKeys = custom.filter(
        (r) => isDeployKeyType(r.type) && r.name.endsWith(SOURCE_DEPLOY_KEY_SUFFIX),
      );
      assert.ok(sourceKeys.length > 0, "the policy must recognise the stack's source deploy keys");

      const violations: string[] = [];
      const asResources = custom.map((resource) => ({
        type: resource.type,
        name: resource.name,
        urn: resource.urn,
        props: resource.inputs,
      }));
      for (const policy of stackPolicies) {
        const found = await checkStackPolicy(policy, asResources);
        violations.push(...found.map((message) => `${policy.name}: ${message}`));
      }
      // Not vacuous: the listener's bindings are among what the RBAC policies judged.
      assert.ok(custom.some((r) => r.type.endsWith(":ClusterRoleBinding")));
      if (stack.includes("mergeRequests")) {
        // ...and the merge request build's Tasks, Pipeline, run template and status reader.
        const named = custom.map((r) => `${r.type.split(":").pop()} ${r.inputs.metadata?.name}`);
        for (const object of [
          "Task build-merge-request",
          "Task fetch-merge-request",
          "Task report-merge-request-status",
          "Pipeline build-hello-python-merge-request",
          "TriggerTemplate hello-python-merge-request-pipelinerun",
          "ServiceAccount tekton-status-reader",
          "Role tekton-status-reader",
          "RoleBinding tekton-status-reader",
        ]) {
          assert.ok(named.includes(object), object);
        }
      }
      for (const resource of custom) {
        for (const policy of resourcePolicies) {
          const found = await checkPolicy(policy, {
            type: resource.type,
            name: resource.name,
            urn: resource.urn,
            props: resource.inputs,
          });
          violations.push(...found.map((message) => `${policy.name}: ${message}`));
        }
      }
      assert.deepEqual(violations, []);
    });
  }

  it("warns (advisory) for each app namespace when listener.admissionPolicy is false", async () => {
    const config = withStructured(exampleConfig("dev"), "listener", (listener) => ({
      ...listener,
      admissionPolicy: false,
    }));
    const run = await runProgram(config);
    assert.equal(run.error, undefined, run.error?.stack);
    const custom = run.resources.filter((resource) => resource.custom);
    assert.ok(!custom.some((r) => r.type.includes("ValidatingAdmissionPolicy")));
    const messages = await checkStackPolicy(
      listenerRunsConfined,
      custom.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs })),
    );
    const apps = parseStackConfig(config, {}).apps;
    assert.equal(messages.length, apps.length);
    for (const app of apps) {
      assert.ok(
        messages.some((m) => m.includes(`act in namespace ${app.namespace},`)),
        app.name,
      );
    }
  });

  it("lets a registry marked insecure skip TLS verification (annotated Task)", async function () {
    const config = withStructured(exampleConfig("dev"), "registry", (registry) => ({
      ...registry,
      insecure: true,
    }));
    const run = await runProgram(config);
    assert.equal(run.error, undefined, run.error?.stack);
    const tasks = run.resources.filter((r) => r.type === "kubernetes:tekton.dev/v1:Task");
    if (tasks.length === 0) {
      console.log("    (the program registers no Tasks yet: nothing to check)");
      this.skip();
    }
    const skipping = tasks.filter((task) =>
      JSON.stringify(task.inputs).includes("--skip-tls-verify"),
    );
    assert.ok(skipping.length > 0, "insecure: true should make the build skip TLS verification");
    for (const task of skipping) {
      const props = { type: task.type, name: task.name, urn: task.urn, props: task.inputs };
      assert.deepEqual(await checkPolicy(noSkipTlsVerify, props), []);
    }
  });

  it("lets a plain-HTTP registry use --insecure-registry (annotated Task)", async () => {
    const config = withStructured(exampleConfig("dev"), "registry", ({ caCert: _c, ...r }) => ({
      ...r,
      plainHttp: true,
    }));
    const run = await runProgram(config);
    assert.equal(run.error, undefined, run.error?.stack);
    const plain = run.resources.filter(
      (r) =>
        r.type === "kubernetes:tekton.dev/v1:Task" &&
        JSON.stringify(r.inputs).includes("--insecure-registry="),
    );
    assert.equal(plain.length, 1);
    const props = {
      type: plain[0].type,
      name: plain[0].name,
      urn: plain[0].urn,
      props: plain[0].inputs,
    };
    assert.deepEqual(await checkPolicy(noSkipTlsVerify, props), []);
    // Without the annotation the same flag is refused: the policy does see it.
    const unannotated = structuredClone(plain[0].inputs);
    delete unannotated.metadata.annotations[INSECURE_REGISTRY_ANNOTATION];
    assert.equal((await checkPolicy(noSkipTlsVerify, { ...props, props: unannotated })).length, 1);
  });

  describe("the build pipeline's manifests (npm run render)", () => {
    const asResource = (manifest: any) => ({
      type: `kubernetes:${manifest.apiVersion}:${manifest.kind}`,
      name: manifest.metadata.name,
      props: manifest,
    });
    const violationsOf = async (manifests: any[]) => {
      const found: string[] = [];
      for (const manifest of manifests) {
        for (const policy of resourcePolicies) {
          const messages = await checkPolicy(policy, asResource(manifest));
          found.push(...messages.map((message) => `${policy.name}: ${message}`));
        }
      }
      return found;
    };

    for (const push of [false, true]) {
      it(`pass every policy with merge request builds (Pulumi.dev.yaml, push: ${push})`, async () => {
        const manifests = renderManifests(
          parseStackConfig(withMergeRequests(exampleConfig("dev"), push)),
        ).map((rendered) => rendered.manifest);
        // Not vacuous: the merge request's Tasks, Pipeline and run template are here.
        for (const [kind, name] of [
          ["Task", "build-merge-request"],
          ["Task", "fetch-merge-request"],
          ["Task", "report-merge-request-status"],
          ["Pipeline", "build-hello-python-merge-request"],
          ["TriggerTemplate", "hello-python-merge-request-pipelinerun"],
        ]) {
          assert.ok(
            manifests.some((m) => m.kind === kind && m.metadata.name === name),
            `${kind} ${name}`,
          );
        }
        // It passes the Kaniko-results rule as unsigned, not by declaring IMAGE_URL/IMAGE_DIGEST.
        const build: any = manifests.find(
          (m) => m.kind === "Task" && m.metadata.name === "build-merge-request",
        );
        assert.equal(build.metadata.annotations["tekton-gitlab.io/unsigned-image"], "true");
        assert.deepEqual(
          build.spec.results.map((r: any) => r.name),
          ["built-digest"],
        );
        assert.equal(
          build.spec.steps.some((step: any) =>
            (step.args ?? []).includes("--destination=$(params.image-url)"),
          ),
          push,
        );
        assert.deepEqual(await violationsOf(manifests), []);
      });
    }

    for (const stack of ["dev", "prod"]) {
      it(`pass every policy (Pulumi.${stack}.yaml)`, async () => {
        const manifests = renderManifests(parseStackConfig(exampleConfig(stack))).map(
          (rendered) => rendered.manifest,
        );
        assert.ok(manifests.some((manifest) => manifest.kind === "Task"));
        assert.deepEqual(await violationsOf(manifests), []);
      });
    }

    it("skip GitLab's TLS verification in the status step only with gitlab:insecure (and its annotation)", async () => {
      const rendered = (raw: Record<string, string>) =>
        renderManifests(parseStackConfig(raw)).map((r) => r.manifest);
      const status = (manifests: any[]) =>
        manifests.find((m) => m.kind === "Task" && m.metadata.name === "report-build-status");
      // Verified by default: the flag is not in the step at all.
      assert.ok(!JSON.stringify(status(rendered(exampleConfig("dev")))).includes("--insecure"));
      const insecure = status(rendered({ ...exampleConfig("dev"), "gitlab:insecure": "true" }));
      assert.ok(insecure.spec.steps[0].script.includes('set -- "$@" --insecure'));
      assert.equal(insecure.metadata.annotations[INSECURE_GITLAB_ANNOTATION], "true");
      assert.deepEqual(await violationsOf([insecure]), []);
      const unmarked = structuredClone(insecure);
      delete unmarked.metadata.annotations[INSECURE_GITLAB_ANNOTATION];
      assert.deepEqual(
        (await violationsOf([unmarked])).map((v) => v.split(":")[0]),
        ["tekton-no-skip-tls-verify"],
      );
    });

    it("skip TLS verification only with the insecure-registry annotation", async () => {
      const insecure = withStructured(exampleConfig("dev"), "registry", (registry) => ({
        ...registry,
        insecure: true,
      }));
      const manifests = renderManifests(parseStackConfig(insecure)).map((r) => r.manifest);
      const skipping = manifests.filter((m) => JSON.stringify(m).includes("--skip-tls-verify"));
      assert.ok(skipping.length > 0, "registry.insecure: true should skip TLS verification");
      assert.deepEqual(await violationsOf(skipping), []);
      // The same Tasks without the annotation are what the policy exists to stop.
      const unmarked = skipping.map((manifest) => {
        const copy = structuredClone(manifest);
        delete copy.metadata.annotations?.[INSECURE_REGISTRY_ANNOTATION];
        return copy;
      });
      const violations = await violationsOf(unmarked);
      assert.ok(violations.length > 0);
      assert.ok(
        violations.every((v) => v.startsWith("tekton-no-skip-tls-verify")),
        violations.join("\n"),
      );
    });
  });

  it("knows the Tekton install component by its real type and URN", async () => {
    const run = await runProgram(exampleConfig("dev"));
    const install = run.resources.filter((resource) => resource.type === TEKTON_INSTALL_TYPE);
    assert.equal(install.length, 1, "TektonInstall registers under TEKTON_INSTALL_TYPE");
    const releases = run.resources.filter((r) => r.type === "kubernetes:yaml/v2:ConfigFile");
    assert.ok(releases.length > 0);
    for (const release of releases) assert.ok(isTektonReleaseResource(release.urn), release.urn);
    const others = run.resources.filter((r) => r.parent === "" && r.type !== TEKTON_INSTALL_TYPE);
    for (const other of others) assert.equal(isTektonReleaseResource(other.urn), false, other.urn);
  });
});
