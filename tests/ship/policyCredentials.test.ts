// The stack policy no-run-wide-credentials: a ServiceAccount every task of a run uses lists no
// registry or git credential (Tekton's credential init would mount it into every step).
import "../harness/mocks";
import * as assert from "node:assert/strict";
import * as policyProxy from "@pulumi/policy/proxy";
import {
  credentialInitMounts,
  noRunWideCredentials,
  runWideServiceAccounts,
} from "../../policy/credentials";
import { exampleConfig, runProgram, withStructured } from "../harness/program";
import { FakeResource, checkStackPolicy } from "./checkPolicy";

const UNKNOWN_STRING: string = (policyProxy as any).unknownStringValue;
const NS = "python-hello-build";

const serviceAccount = (name: string, secrets?: string[], namespace = NS): FakeResource => ({
  type: "kubernetes:core/v1:ServiceAccount",
  name: `${name}-sa`,
  props: {
    metadata: { name, namespace },
    ...(secrets ? { secrets: secrets.map((s) => ({ name: s })) } : {}),
  },
});

const secret = (
  name: string,
  type: string,
  annotations?: Record<string, string>,
): FakeResource => ({
  type: "kubernetes:core/v1:Secret",
  name: `${name}-secret`,
  props: { metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) }, type },
});

/** A TriggerTemplate whose PipelineRun runs as `account` (taskRunTemplate omitted if undefined). */
const template = (account: string | undefined, taskRunSpecs?: any[]): FakeResource => ({
  type: "kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate",
  name: "hello-python-pipelinerun",
  props: {
    metadata: { name: "hello-python-pipelinerun", namespace: NS },
    spec: {
      resourcetemplates: [
        {
          apiVersion: "tekton.dev/v1",
          kind: "PipelineRun",
          spec: {
            pipelineRef: { name: "build-hello-python" },
            ...(account === undefined ? {} : { taskRunTemplate: { serviceAccountName: account } }),
            ...(taskRunSpecs ? { taskRunSpecs } : {}),
          },
        },
      ],
    },
  },
});

const check = (resources: FakeResource[]) => checkStackPolicy(noRunWideCredentials, resources);

describe("policy no-run-wide-credentials", () => {
  describe("credentialInitMounts follows pipeline v1.15.0 dockercreds/gitcreds", () => {
    for (const [type, annotations, mounted] of [
      ["kubernetes.io/dockerconfigjson", {}, true],
      ["kubernetes.io/dockercfg", {}, true],
      ["kubernetes.io/ssh-auth", { "tekton.dev/git-0": "gitlab" }, true],
      ["kubernetes.io/ssh-auth", {}, false],
      ["kubernetes.io/basic-auth", { "tekton.dev/docker-0": "https://registry" }, true],
      ["kubernetes.io/basic-auth", { "tekton.dev/git-1": "https://gitlab" }, true],
      ["kubernetes.io/basic-auth", {}, false],
      ["Opaque", { "tekton.dev/git-0": "gitlab" }, false],
      ["kubernetes.io/ssh-auth", { "tekton.dev/docker-0": "registry" }, false],
    ] as const) {
      it(`${type} ${JSON.stringify(annotations)}: ${mounted ? "mounted" : "not mounted"}`, () => {
        assert.equal(credentialInitMounts({ type, annotations }), mounted);
      });
    }
  });

  it("accepts a run-wide ServiceAccount that lists no Secret", async () => {
    assert.deepEqual(
      await check([
        template("tekton-build"),
        serviceAccount("tekton-build"),
        secret("registry-credentials", "kubernetes.io/dockerconfigjson"),
      ]),
      [],
    );
  });

  it("refuses a dockerconfigjson Secret (no annotation needed) on the run-wide account", async () => {
    const violations = await check([
      template("tekton-build"),
      serviceAccount("tekton-build", ["registry-credentials"]),
      secret("registry-credentials", "kubernetes.io/dockerconfigjson"),
    ]);
    assert.equal(violations.length, 1);
    assert.match(
      violations[0],
      /ServiceAccount python-hello-build\/tekton-build, which TriggerTemplate hello-python-pipelinerun spec\.resourcetemplates\[0\] runs every task as, lists Secret registry-credentials \(kubernetes\.io\/dockerconfigjson\): Tekton's credential init mounts it into every step/,
    );
    assert.match(violations[0], /workspace of the one task/);
  });

  it("refuses annotated and unannotated git keys, and a Secret the stack does not define", async () => {
    const violations = await check([
      template("tekton-build"),
      serviceAccount("tekton-build", ["git-pull", "git-write", "elsewhere"]),
      secret("git-pull", "kubernetes.io/ssh-auth", { "tekton.dev/git-0": "gitlab" }),
      secret("git-write", "kubernetes.io/ssh-auth"),
    ]);
    assert.equal(violations.length, 3, violations.join("\n"));
    assert.match(violations[0], /Secret git-pull .*annotated tekton\.dev\/git-0.*every step/);
    assert.match(violations[1], /Secret git-write .*one tekton\.dev\/git-\* annotation away/);
    assert.match(violations[2], /Secret elsewhere, which this stack does not define/);
  });

  it("applies to Tekton's default ServiceAccount when the run names none", async () => {
    const violations = await check([
      template(undefined),
      serviceAccount("default", ["registry-credentials"]),
      secret("registry-credentials", "kubernetes.io/dockerconfigjson"),
    ]);
    assert.equal(violations.length, 1);
    assert.match(violations[0], /ServiceAccount python-hello-build\/default/);
  });

  it("leaves a per-task account (taskRunSpecs) and other namespaces' accounts alone", async () => {
    assert.deepEqual(
      await check([
        template("tekton-build", [
          { pipelineTaskName: "build-and-push", serviceAccountName: "kaniko" },
        ]),
        serviceAccount("tekton-build"),
        serviceAccount("kaniko", ["registry-credentials"]),
        serviceAccount("tekton-build", ["registry-credentials"], "other-namespace"),
        secret("registry-credentials", "kubernetes.io/dockerconfigjson"),
      ]),
      [],
    );
  });

  it("covers TaskRuns too, and skips what is unknown during preview", async () => {
    const taskRun: FakeResource = {
      type: "kubernetes:tekton.dev/v1:TaskRun",
      props: {
        metadata: { name: "once", namespace: NS },
        spec: { serviceAccountName: "tekton-build" },
      },
    };
    const listed = [
      serviceAccount("tekton-build", ["registry-credentials"]),
      secret("registry-credentials", "kubernetes.io/dockerconfigjson"),
    ];
    assert.equal((await check([taskRun, ...listed])).length, 1);
    assert.deepEqual(await check([template(UNKNOWN_STRING), serviceAccount(UNKNOWN_STRING)]), []);
  });

  describe("on the program's own resources", function () {
    this.timeout(30000);

    it("finds the run-wide account and passes it (Pulumi.dev.yaml and Pulumi.prod.yaml)", async () => {
      for (const stack of ["dev", "prod"]) {
        const run = await runProgram(exampleConfig(stack));
        assert.ifError(run.error);
        const resources = run.resources
          .filter((r) => r.custom)
          .map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs }));
        // Not vacuous: the policy sees the TriggerTemplate's ServiceAccount.
        assert.ok(
          runWideServiceAccounts(resources).some((a) => a.name === "tekton-build"),
          stack,
        );
        assert.deepEqual(await check(resources), [], stack);

        // The wiring this stack had before: every Secret listed "for documentation".
        const listing = resources.map((r) =>
          r.type === "kubernetes:core/v1:ServiceAccount" && r.props.metadata.name === "tekton-build"
            ? {
                ...r,
                props: {
                  ...r.props,
                  secrets: [
                    { name: "git-pull" },
                    { name: "git-write" },
                    { name: "registry-credentials" },
                  ],
                },
              }
            : r,
        );
        const violations = await check(listing);
        assert.ok(violations.length >= 2, `${stack}: ${violations.join("\n")}`);
      }
    });

    it("finds the merge request run's account too and passes it (mergeRequests.build)", async () => {
      const config = withStructured(exampleConfig(), "apps", (apps) =>
        apps.map((a: any) => ({
          ...a,
          // The example registry has a username: push needs a Secret of its own (config).
          mergeRequests: { build: true, push: true, registrySecretName: "mr-registry" },
        })),
      );
      const run = await runProgram(config);
      assert.ifError(run.error);
      const resources = run.resources
        .filter((r) => r.custom)
        .map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs }));
      // Per-task accounts (tekton-build-push, tekton-cancel, tekton-status-reader) are not run-wide.
      assert.deepEqual(
        runWideServiceAccounts(resources)
          .map((a) => [a.name, a.where])
          .sort(),
        [
          [
            "tekton-build",
            "TriggerTemplate hello-python-merge-request-trigger-template spec.resourcetemplates[0]",
          ],
          [
            "tekton-build",
            "TriggerTemplate hello-python-trigger-template spec.resourcetemplates[0]",
          ],
        ],
      );
      assert.deepEqual(await check(resources), []);
    });
  });
});
