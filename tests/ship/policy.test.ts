// Each policy of the pack with passing and failing resources, called as the policy framework
// calls it: props behind the framework's unknown-checking proxy, violations collected.
import * as assert from "node:assert/strict";
import * as policyProxy from "@pulumi/policy/proxy";
import {
  SECRET_GRANTING_ROLES,
  TEKTON_INSTALL_TYPE,
  rbacBindingRolesInStack,
  rbacBindingsNoSecretRoles,
  rbacClusterRolesReadOnly,
  rbacRolesNoSecrets,
  noParamsInScript,
  noSkipTlsVerify,
  pinnedStepImages,
  policies,
  privateKeysInSshAuthSecrets,
  readOnlySourceDeployKeys,
  kanikoResultsForChains,
  listenerRunsConfined,
} from "../../policy/policies";
import {
  INSECURE_REGISTRY_ANNOTATION,
  UNSIGNED_IMAGE_ANNOTATION,
  deployKeyResourceNames,
} from "../../tekton/core/names";
import { FakeResource, checkPolicy, checkStackPolicy } from "./checkPolicy";
import { appAndContext } from "../build/helpers";
import { listenerAdmission } from "../../tekton/listener/listenerAdmission";
import { CANCEL_ROLE, cancelRole, cancelRoleBinding } from "../../tekton/cancel/cancelTask";
import { appPipelineRunRoleBinding, sharedEventListener } from "../../tekton/listener/triggers";
import { buildMergeRequestTask } from "../../tekton/mergeRequest/pipeline";
import {
  statusReaderRole,
  statusReaderRoleBinding,
  statusReaderServiceAccount,
} from "../../tekton/mergeRequest/rbac";

/** The sentinel the engine sends for a value not known during preview. */
const UNKNOWN_STRING: string = (policyProxy as any).unknownStringValue;
const UNKNOWN_BOOLEAN: string = (policyProxy as any).unknownBooleanValue;

const TASK = "kubernetes:tekton.dev/v1:Task";
const PIPELINE = "kubernetes:tekton.dev/v1:Pipeline";

function task(steps: Record<string, any>[], extra: Record<string, any> = {}): FakeResource {
  const { annotations, ...spec } = extra;
  return {
    type: TASK,
    props: {
      apiVersion: "tekton.dev/v1",
      kind: "Task",
      metadata: { name: "build", annotations },
      spec: { ...spec, steps },
    },
  };
}

const PINNED = "ghcr.io/osscontainertools/kaniko:v1.28.0";
const DIGEST = `docker.io/alpine/git@sha256:${"a".repeat(64)}`;

describe("policy pack", () => {
  it("has unique, described, mandatory policies", () => {
    const names = policies.map((policy) => policy.name);
    assert.equal(new Set(names).size, names.length);
    assert.equal(policies.length, 11);
    for (const policy of policies) {
      assert.ok(policy.description.length > 20, policy.name);
      // Advisory only: clusters before Kubernetes 1.30 cannot have the admission policy.
      const level = policy.name === "listener-runs-admission-policy" ? "advisory" : "mandatory";
      assert.equal(policy.enforcementLevel, level, policy.name);
    }
  });

  describe("listener-runs-admission-policy", () => {
    const { app, ctx } = appAndContext();
    const listener = { namespace: "tekton-gitlab-listener" };
    const el = sharedEventListener(listener, [app]);
    const roleBinding = appPipelineRunRoleBinding(app, listener);
    const [vap, vapBinding] = listenerAdmission(listener, app, ctx);
    const fake = (object: any): FakeResource => ({
      type: `kubernetes:${object.apiVersion.includes("/") ? object.apiVersion : `core/${object.apiVersion}`}:${object.kind}`,
      name: object.metadata.name,
      props: object,
    });

    it("passes when every app namespace of the listener has its Deny policy", async () => {
      assert.deepEqual(
        await checkStackPolicy(listenerRunsConfined, [el, roleBinding, vap, vapBinding].map(fake)),
        [],
      );
    });

    it("warns when the listener may create runs in a namespace no policy confines", async () => {
      const [message] = await checkStackPolicy(listenerRunsConfined, [el, roleBinding].map(fake));
      assert.match(
        message,
        new RegExp(
          `act in namespace ${app.namespace}, which no ValidatingAdmissionPolicy confines`,
        ),
      );
      assert.match(message, /tekton-gitlab:listener\.admissionPolicy/);
    });

    it("does not count a binding that only warns, or a policy for another user", async () => {
      const warnOnly = { ...vapBinding, spec: { ...vapBinding.spec, validationActions: ["Warn"] } };
      assert.equal(
        (await checkStackPolicy(listenerRunsConfined, [el, roleBinding, vap, warnOnly].map(fake)))
          .length,
        1,
      );
      const [otherVap] = listenerAdmission({ namespace: "someone-else" }, app, ctx);
      assert.equal(
        (
          await checkStackPolicy(
            listenerRunsConfined,
            [el, roleBinding, otherVap, vapBinding].map(fake),
          )
        ).length,
        1,
      );
    });
  });

  describe("tekton-kaniko-chains-results", () => {
    const kaniko = { name: "build", image: PINNED, command: ["/kaniko/executor"] };
    const results = (...names: string[]) => names.map((name) => ({ name, type: "string" }));

    it("passes a Kaniko task with IMAGE_URL and IMAGE_DIGEST, and tasks without Kaniko", async () => {
      const ok = task([kaniko], { results: results("IMAGE_URL", "IMAGE_DIGEST") });
      assert.deepEqual(await checkPolicy(kanikoResultsForChains, ok), []);
      const git = task([{ name: "clone", image: DIGEST }]);
      assert.deepEqual(await checkPolicy(kanikoResultsForChains, git), []);
    });

    it("refuses a Kaniko task missing either result, naming what is missing", async () => {
      const none = await checkPolicy(kanikoResultsForChains, task([kaniko]));
      assert.equal(none.length, 1);
      assert.match(none[0], /runs Kaniko.*IMAGE_URL, IMAGE_DIGEST/);
      const old = await checkPolicy(
        kanikoResultsForChains,
        task([kaniko], { results: results("image-digest") }),
      );
      assert.match(old[0], /IMAGE_URL, IMAGE_DIGEST/);
      const half = await checkPolicy(
        kanikoResultsForChains,
        task([kaniko], { results: results("IMAGE_DIGEST") }),
      );
      assert.equal(half.length, 1);
      assert.match(half[0], /missing IMAGE_URL\b/);
    });

    it("lets a Kaniko task that pushes nothing (--no-push, no destination) go without them", async () => {
      const build = (args: string[], extra: Record<string, any> = {}) =>
        checkPolicy(kanikoResultsForChains, task([{ ...kaniko, args }], extra));
      const digest = "--digest-file=$(results.built-digest.path)";
      assert.deepEqual(await build(["--context=/src", "--no-push", digest]), []);
      assert.deepEqual(await build(["--no-push=true"]), []);
      // The merge request build without mergeRequests.push (tekton/mergeRequest), as rendered.
      const { app, ctx } = appAndContext({
        apps: ([a]) => [{ ...a, mergeRequests: { build: true, push: false } }],
      });
      const mergeRequest = buildMergeRequestTask(app, ctx);
      // --no-push alone lets it pass, with or without its unsigned-image annotation.
      delete mergeRequest.metadata.annotations![UNSIGNED_IMAGE_ANNOTATION];
      assert.deepEqual(
        await checkPolicy(kanikoResultsForChains, { type: TASK, props: mergeRequest }),
        [],
      );
      // Anything that may push still needs both results.
      for (const args of [
        ["--no-push=false"],
        ["--no-push", "--destination=registry.example.com/a:b"],
        ["--no-push", "--destination", "registry.example.com/a:b"],
        ["--no-push", "-d", "registry.example.com/a:b"],
        ["--no-push", "-dregistry.example.com/a:b"],
        ["--destination=registry.example.com/a:b"],
        [],
      ]) {
        assert.equal((await build(args)).length, 1, args.join(" "));
      }
      assert.equal((await build([UNKNOWN_STRING])).length, 1, "unknown args count as pushing");
      // Two Kaniko steps, one of them pushing.
      const two = task([
        { ...kaniko, args: ["--no-push"] },
        { ...kaniko, name: "push", args: ["--destination=registry.example.com/a:b"] },
      ]);
      assert.equal((await checkPolicy(kanikoResultsForChains, two)).length, 1);
      // The merge request build with push, as rendered but without its unsigned-image
      // annotation: it pushes without IMAGE_URL / IMAGE_DIGEST, refused.
      const pushing = appAndContext({
        apps: ([a]) => [
          { ...a, mergeRequests: { build: true, push: true, registrySecretName: "mr-registry" } },
        ],
      });
      const unannotated = buildMergeRequestTask(pushing.app, pushing.ctx);
      delete unannotated.metadata.annotations![UNSIGNED_IMAGE_ANNOTATION];
      assert.equal(
        (await checkPolicy(kanikoResultsForChains, { type: TASK, props: unannotated })).length,
        1,
      );
    });

    describe(`${UNSIGNED_IMAGE_ANNOTATION}: "true" on a Task, and only there, exempts it`, () => {
      const pushingKaniko = { ...kaniko, args: ["--destination=registry.example.com/a:mr-1"] };
      const check = (resource: FakeResource) => checkPolicy(kanikoResultsForChains, resource);

      it("passes the merge request build Task as rendered, push: false and push: true", async () => {
        for (const mergeRequests of [
          { build: true, push: false },
          { build: true, push: true, registrySecretName: "mr-registry" },
        ]) {
          const { app, ctx } = appAndContext({ apps: ([a]) => [{ ...a, mergeRequests }] });
          const props = buildMergeRequestTask(app, ctx);
          assert.equal(props.metadata.annotations![UNSIGNED_IMAGE_ANNOTATION], "true");
          assert.deepEqual(
            props.spec.results!.map((r) => r.name),
            ["built-digest"],
          );
          assert.deepEqual(await check({ type: TASK, props }), [], JSON.stringify(mergeRequests));
        }
      });

      it("refuses an annotated Task that declares any result Tekton Chains would sign", async () => {
        // chains v0.29.2 pkg/artifacts/signable.go: results whose names end in IMAGE_URL /
        // IMAGE_DIGEST, ARTIFACT_URI / ARTIFACT_DIGEST, ARTIFACT_OUTPUTS, and IMAGES.
        for (const name of [
          "IMAGE_URL",
          "IMAGE_DIGEST",
          "APP_IMAGE_URL",
          "IMAGES",
          "ARTIFACT_OUTPUTS",
          "X_ARTIFACT_OUTPUTS",
          "ARTIFACT_URI",
          "ARTIFACT_DIGEST",
        ]) {
          const found = await check(
            task([pushingKaniko], {
              annotations: { [UNSIGNED_IMAGE_ANNOTATION]: "true" },
              results: [{ name, type: "string" }],
            }),
          );
          assert.equal(found.length, 1, name);
          assert.ok(found[0].includes(`declares ${name},`), found[0]);
          assert.ok(found[0].includes(UNSIGNED_IMAGE_ANNOTATION), found[0]);
        }
      });

      it("passes a pushing Kaniko Task without the results when annotated", async () => {
        const annotated = task([pushingKaniko], {
          annotations: { [UNSIGNED_IMAGE_ANNOTATION]: "true" },
        });
        assert.deepEqual(await check(annotated), []);
      });

      it("still refuses one without the annotation, or with any other value", async () => {
        for (const annotations of [
          undefined,
          {},
          { [UNSIGNED_IMAGE_ANNOTATION]: "false" },
          { [UNSIGNED_IMAGE_ANNOTATION]: "True" },
          { [UNSIGNED_IMAGE_ANNOTATION]: "" },
          { [UNSIGNED_IMAGE_ANNOTATION]: UNKNOWN_STRING },
          { "tekton-gitlab.io/unsigned": "true" },
        ]) {
          const found = await check(task([pushingKaniko], { annotations }));
          assert.equal(found.length, 1, JSON.stringify(annotations));
          assert.match(found[0], /IMAGE_URL, IMAGE_DIGEST/);
        }
      });

      it("refuses it on anything but a Task object: a Pipeline or TaskRun, an embedded taskSpec", async () => {
        const annotations = { [UNSIGNED_IMAGE_ANNOTATION]: "true" };
        const embedded = {
          name: "build",
          taskSpec: { metadata: { annotations }, steps: [pushingKaniko] },
        };
        const pipeline: FakeResource = {
          type: PIPELINE,
          props: {
            apiVersion: "tekton.dev/v1",
            kind: "Pipeline",
            metadata: { name: "p", annotations },
            spec: { tasks: [embedded] },
          },
        };
        assert.equal((await check(pipeline)).length, 1);
        const taskRun: FakeResource = {
          type: "kubernetes:tekton.dev/v1:TaskRun",
          props: {
            apiVersion: "tekton.dev/v1",
            kind: "TaskRun",
            metadata: { name: "r", annotations },
            spec: { taskSpec: { steps: [pushingKaniko] } },
          },
        };
        assert.equal((await check(taskRun)).length, 1);
      });
    });

    it("recognises Kaniko by image as well as by its executor, also in embedded specs", async () => {
      const byImage = task([{ name: "b", image: "gcr.io/kaniko-project/executor:v1.23.2" }]);
      assert.equal((await checkPolicy(kanikoResultsForChains, byImage)).length, 1);
      const pipeline: FakeResource = {
        type: PIPELINE,
        props: {
          apiVersion: "tekton.dev/v1",
          kind: "Pipeline",
          metadata: { name: "p" },
          spec: { tasks: [{ name: "build", taskSpec: { steps: [kaniko] } }] },
        },
      };
      const found = await checkPolicy(kanikoResultsForChains, pipeline);
      assert.equal(found.length, 1);
      assert.match(found[0], /spec\.tasks\[0\]\.taskSpec/);
    });
  });

  describe("tekton-step-image-pinned", () => {
    it("passes steps pinned by tag or digest, and images inherited from stepTemplate", async () => {
      const resource = task([{ name: "a", image: PINNED }, { name: "b", image: DIGEST }, {}], {
        stepTemplate: { image: PINNED },
      });
      assert.deepEqual(await checkPolicy(pinnedStepImages, resource), []);
    });

    it("reports untagged, :latest and port-only references, naming the step", async () => {
      const violations = await checkPolicy(
        pinnedStepImages,
        task([
          { name: "clone", image: "alpine/git" },
          { name: "build", image: "gcr.io/kaniko-project/executor:latest" },
          { name: "ok", image: PINNED },
          { name: "patch", image: "registry.local:5000/kubectl" },
        ]),
      );
      assert.equal(violations.length, 3, violations.join("\n"));
      assert.match(violations[0], /spec\.steps\[0\] "clone" uses image alpine\/git/);
      assert.match(violations[1], /spec\.steps\[1\] "build".*not ':latest'/);
      assert.match(violations[2], /spec\.steps\[3\] "patch" uses image registry\.local:5000/);
    });

    it("reports a step with no image at all, and unpinned sidecars", async () => {
      const violations = await checkPolicy(
        pinnedStepImages,
        task([{ name: "empty" }], { sidecars: [{ name: "registry", image: "registry" }] }),
      );
      assert.equal(violations.length, 2, violations.join("\n"));
      assert.match(violations[0], /steps\[0\] "empty" has no image/);
      assert.match(violations[1], /sidecars\[0\] "registry" uses image registry/);
    });

    it("checks an image param's default and rejects a param without one", async () => {
      const params = (defaultImage?: string) => ({
        params: [{ name: "image", type: "string", default: defaultImage }],
      });
      const step = [{ name: "run", image: "$(params.image)" }];
      assert.deepEqual(await checkPolicy(pinnedStepImages, task(step, params(PINNED))), []);
      const [latest] = await checkPolicy(pinnedStepImages, task(step, params("alpine:latest")));
      assert.match(latest, /\$\(params\.image\) \(default alpine:latest\)/);
      const [missing] = await checkPolicy(pinnedStepImages, task(step, params(undefined)));
      assert.match(missing, /param "image" without a default/);
    });

    it("finds steps in Pipeline taskSpecs (tasks and finally) and TriggerTemplates", async () => {
      const taskSpec = { steps: [{ name: "s", image: "busybox" }] };
      const pipeline = await checkPolicy(pinnedStepImages, {
        type: PIPELINE,
        props: { spec: { tasks: [{ name: "t", taskSpec }], finally: [{ name: "f", taskSpec }] } },
      });
      assert.equal(pipeline.length, 2);
      assert.match(pipeline[0], /^spec\.tasks\[0\]\.taskSpec\.steps\[0\] "s"/);
      assert.match(pipeline[1], /^spec\.finally\[0\]\.taskSpec\.steps\[0\] "s"/);

      const [template] = await checkPolicy(pinnedStepImages, {
        type: "kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate",
        props: {
          spec: {
            resourcetemplates: [
              {
                apiVersion: "tekton.dev/v1",
                kind: "PipelineRun",
                spec: { pipelineSpec: { tasks: [{ name: "t", taskSpec }] } },
              },
            ],
          },
        },
      });
      assert.match(template, /^spec\.resourcetemplates\[0\]\.spec\.pipelineSpec\.tasks\[0\]/);
    });

    it("checks StepActions, and leaves steps that reference one to it", async () => {
      const [action] = await checkPolicy(pinnedStepImages, {
        type: "kubernetes:tekton.dev/v1beta1:StepAction",
        props: { metadata: { name: "clone" }, spec: { image: "alpine/git", script: "git clone" } },
      });
      assert.match(action, /^spec uses image alpine\/git/);
      const usesAction = task([{ name: "clone", ref: { name: "clone" } }]);
      assert.deepEqual(await checkPolicy(pinnedStepImages, usesAction), []);
    });

    it("also checks older Tekton API versions", async () => {
      const old = {
        ...task([{ name: "x", image: "ubuntu" }]),
        type: "kubernetes:tekton.dev/v1beta1:Task",
      };
      assert.equal((await checkPolicy(pinnedStepImages, old)).length, 1);
    });

    it("ignores non-Tekton resources and images unknown during preview", async () => {
      const deployment = {
        type: "kubernetes:apps/v1:Deployment",
        props: { spec: { template: { spec: { containers: [{ image: "nginx" }] } } } },
      };
      assert.deepEqual(await checkPolicy(pinnedStepImages, deployment), []);
      assert.deepEqual(await checkPolicy(pinnedStepImages, task([{ image: UNKNOWN_STRING }])), []);
    });
  });

  describe("tekton-no-skip-tls-verify", () => {
    it("passes steps that trust the registry CA", async () => {
      const resource = task([
        {
          name: "build",
          image: PINNED,
          args: ["--registry-certificate", "registry.example.com=/ca/ca.crt"],
        },
      ]);
      assert.deepEqual(await checkPolicy(noSkipTlsVerify, resource), []);
    });

    it("reports --skip-tls-verify in args and its variants in scripts", async () => {
      const violations = await checkPolicy(
        noSkipTlsVerify,
        task([
          { name: "build", image: PINNED, args: ["--destination=x", "--skip-tls-verify"] },
          {
            name: "push",
            image: PINNED,
            script: "/kaniko/executor --skip-tls-verify-pull --insecure-registry=reg:5000 .",
          },
          { name: "off", image: PINNED, args: ["--skip-tls-verify=false"] },
        ]),
      );
      assert.equal(violations.length, 2, violations.join("\n"));
      assert.match(violations[0], /steps\[0\] "build" passes --skip-tls-verify /);
      assert.match(violations[1], /--skip-tls-verify-pull, --insecure-registry/);
      assert.match(violations[0], /registry\.caCert/);
    });

    it(`allows it on a Task annotated ${INSECURE_REGISTRY_ANNOTATION}: "true" only`, async () => {
      const steps = [{ name: "build", image: PINNED, args: ["--skip-tls-verify"] }];
      const annotated = (value: string) =>
        task(steps, { annotations: { [INSECURE_REGISTRY_ANNOTATION]: value } });
      assert.deepEqual(await checkPolicy(noSkipTlsVerify, annotated("true")), []);
      assert.equal((await checkPolicy(noSkipTlsVerify, annotated("false"))).length, 1);

      const pipeline = (metadata: Record<string, any>) => ({
        type: PIPELINE,
        props: { spec: { tasks: [{ name: "t", taskSpec: { metadata, steps } }] } },
      });
      const marked = { annotations: { [INSECURE_REGISTRY_ANNOTATION]: "true" } };
      assert.deepEqual(await checkPolicy(noSkipTlsVerify, pipeline(marked)), []);
      assert.equal((await checkPolicy(noSkipTlsVerify, pipeline({}))).length, 1);
    });
  });

  describe("tekton-no-params-in-script", () => {
    it("passes scripts that read params from env, results and workspace paths", async () => {
      const resource = task([
        {
          name: "tag",
          image: PINNED,
          env: [{ name: "REVISION", value: "$(params.revision)" }],
          args: ["$(params.context)"],
          script:
            'cd "$(workspaces.source.path)"\nprintf %s "$REVISION" > "$(results.commit.path)"\n',
        },
      ]);
      assert.deepEqual(await checkPolicy(noParamsInScript, resource), []);
    });

    it("reports $(params.x) and the bracket forms inside a script", async () => {
      const violations = await checkPolicy(
        noParamsInScript,
        task([
          { name: "dot", image: PINNED, script: "git clone $(params.gitURL) ." },
          { name: "bracket", image: PINNED, script: `echo "$(params["image-url"])"` },
          { name: "quote", image: PINNED, script: "echo $(params['x'])" },
        ]),
      );
      assert.equal(violations.length, 3);
      assert.match(violations[0], /steps\[0\] "dot" has \$\(params\.\.\.\) inside its script/);
      assert.match(violations[0], /env/);
    });
  });

  describe("source-deploy-key-read-only", () => {
    const names = deployKeyResourceNames({ name: "hello-python" });
    const key = (type: string, name: string, canPush: unknown): FakeResource => ({
      type,
      name,
      props: { project: "root/hello-python", title: "t", key: "ssh-ed25519 AAAA", canPush },
    });
    const types = [
      "pulumi-nodejs:dynamic/gitlab:DeployKey",
      "pulumi-nodejs:gitlab:DeployKey",
      "gitlab:index/deployKey:DeployKey",
    ];

    it("reports a source deploy key that can push, for our and @pulumi/gitlab's types", async () => {
      for (const type of types) {
        const [violation, ...rest] = await checkPolicy(
          readOnlySourceDeployKeys,
          key(type, names.source, true),
        );
        assert.match(violation ?? "", /hello-python-source-deploy-key on root\/hello-python/);
        assert.equal(rest.length, 0);
      }
    });

    it("passes read-only source keys and writable operations keys", async () => {
      for (const type of types) {
        assert.deepEqual(
          await checkPolicy(readOnlySourceDeployKeys, key(type, names.source, false)),
          [],
        );
        assert.deepEqual(
          await checkPolicy(readOnlySourceDeployKeys, key(type, names.source, undefined)),
          [],
        );
        assert.deepEqual(
          await checkPolicy(readOnlySourceDeployKeys, key(type, names.operations, true)),
          [],
        );
      }
    });

    it("does not fail on canPush unknown during preview", async () => {
      const resource = key(types[0], names.source, UNKNOWN_BOOLEAN);
      assert.deepEqual(await checkPolicy(readOnlySourceDeployKeys, resource), []);
    });
  });

  describe("RBAC", () => {
    const RBAC = "kubernetes:rbac.authorization.k8s.io/v1";
    const CRB = `${RBAC}:ClusterRoleBinding`;
    const RB = `${RBAC}:RoleBinding`;
    const CLUSTER_ROLE = `${RBAC}:ClusterRole`;
    const ROLE = `${RBAC}:Role`;
    const binding = (
      role: string,
      subjects: any[],
      urn?: string,
      type = CRB,
      kind = "ClusterRole",
    ): FakeResource => ({
      type,
      name: "binding",
      urn,
      props: {
        metadata: { name: "binding", namespace: type === RB ? "app-build" : undefined },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name: role },
        subjects,
      },
    });
    const role = (name: string, rules: any[], type = CLUSTER_ROLE): FakeResource => ({
      type,
      name,
      props: { metadata: { name, namespace: type === ROLE ? "app-build" : undefined }, rules },
    });
    const listenerSa = [{ kind: "ServiceAccount", name: "el-sa", namespace: "python-hello-build" }];
    const readTriggers = {
      apiGroups: ["triggers.tekton.dev"],
      resources: ["clustertriggerbindings", "clusterinterceptors"],
      verbs: ["get", "list", "watch"],
    };
    const readSecrets = {
      apiGroups: [""],
      resources: ["secrets"],
      verbs: ["get", "list", "watch"],
    };

    describe("rbac-binding-no-secret-roles", () => {
      it("passes a ClusterRoleBinding of a role of ours to a ServiceAccount", async () => {
        assert.deepEqual(
          await checkPolicy(
            rbacBindingsNoSecretRoles,
            binding("tekton-gitlab-eventlistener-dev", listenerSa),
          ),
          [],
        );
      });

      it("refuses Triggers' eventlistener-clusterroles and the other known Secret roles", async () => {
        for (const name of SECRET_GRANTING_ROLES) {
          const [crb] = await checkPolicy(rbacBindingsNoSecretRoles, binding(name, listenerSa));
          assert.match(
            crb,
            new RegExp(`grants ClusterRole ${name}, which grants Secrets cluster-wide`),
          );
          // Granted in one namespace through a RoleBinding, a Secret reader is still refused.
          const [rb] = await checkPolicy(
            rbacBindingsNoSecretRoles,
            binding(name, listenerSa, undefined, RB),
          );
          assert.match(rb, new RegExp(`RoleBinding binding grants ClusterRole ${name}`));
        }
        assert.ok(SECRET_GRANTING_ROLES.includes("tekton-triggers-eventlistener-clusterroles"));
      });

      it("refuses non-ServiceAccount subjects and a Role in a ClusterRoleBinding", async () => {
        const [group] = await checkPolicy(
          rbacBindingsNoSecretRoles,
          binding("mine", [{ kind: "Group", name: "system:authenticated" }]),
        );
        assert.match(group, /binds Group system:authenticated/);
        const roleRef = binding("mine", listenerSa, undefined, CRB, "Role");
        assert.equal((await checkPolicy(rbacBindingsNoSecretRoles, roleRef)).length, 1);
      });

      it("exempts the bindings of Tekton's release manifests (under TektonInstall) only", async () => {
        const chain = `${TEKTON_INSTALL_TYPE}$kubernetes:yaml/v2:ConfigFile$${CRB}`;
        const underInstall = `urn:pulumi:dev::tekton-gitlab::${chain}::tekton-triggers-core-interceptors`;
        const sa = [{ kind: "ServiceAccount", name: "tekton-triggers-core-interceptors" }];
        const name = "tekton-triggers-core-interceptors";
        assert.deepEqual(
          await checkPolicy(rbacBindingsNoSecretRoles, binding(name, sa, underInstall)),
          [],
        );
        assert.equal((await checkPolicy(rbacBindingsNoSecretRoles, binding(name, sa))).length, 1);
        const elsewhere = `urn:pulumi:dev::tekton-gitlab::tekton-gitlab:app:Trigger$${CRB}::x`;
        assert.equal(
          (await checkPolicy(rbacBindingsNoSecretRoles, binding(name, sa, elsewhere))).length,
          1,
        );
      });
    });

    describe("rbac-cluster-role-read-only", () => {
      it("passes the shared listener's ClusterRole (reads of Triggers' kinds)", async () => {
        assert.deepEqual(
          await checkPolicy(rbacClusterRolesReadOnly, role("el", [readTriggers])),
          [],
        );
      });

      it("refuses a ClusterRole that creates PipelineRuns (any namespace)", async () => {
        const create = {
          apiGroups: ["tekton.dev"],
          resources: ["pipelineruns"],
          verbs: ["create"],
        };
        const [violation] = await checkPolicy(
          rbacClusterRolesReadOnly,
          role("el", [readTriggers, create]),
        );
        assert.match(violation, /ClusterRole el grants rules\[1\] create cluster-wide/);
      });

      it("leaves namespaced Roles (the per-app PipelineRun grant) and Tekton's release alone", async () => {
        const create = {
          apiGroups: ["tekton.dev"],
          resources: ["pipelineruns"],
          verbs: ["create"],
        };
        assert.deepEqual(
          await checkPolicy(rbacClusterRolesReadOnly, role("el", [create], ROLE)),
          [],
        );
        const chain = `${TEKTON_INSTALL_TYPE}$kubernetes:yaml/v2:ConfigFile$${CLUSTER_ROLE}`;
        const release = role("tekton-pipelines-controller-cluster-access", [create]);
        release.urn = `urn:pulumi:dev::tekton-gitlab::${chain}::x`;
        assert.deepEqual(await checkPolicy(rbacClusterRolesReadOnly, release), []);
      });
    });

    describe("rbac-role-no-secrets", () => {
      it("passes a role that reads Triggers objects", async () => {
        assert.deepEqual(await checkPolicy(rbacRolesNoSecrets, role("el", [readTriggers])), []);
      });

      it("refuses Secrets and '*' in the stack's own Roles and ClusterRoles", async () => {
        const [secrets] = await checkPolicy(
          rbacRolesNoSecrets,
          role("el", [readTriggers, readSecrets]),
        );
        assert.match(secrets, /ClusterRole el grants rules\[1\] secrets \(get, list, watch\)/);
        const star = role("el", [{ apiGroups: ["*"], resources: ["*"], verbs: ["get"] }], ROLE);
        const [stars] = await checkPolicy(rbacRolesNoSecrets, star);
        assert.match(
          stars,
          /^Role el grants rules\[0\]\.apiGroups "\*"; rules\[0\]\.resources "\*";/,
        );
        const verbs = role("el", [
          { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["*"] },
        ]);
        assert.equal((await checkPolicy(rbacRolesNoSecrets, verbs)).length, 1);
      });

      it("leaves Tekton's release roles to the release", async () => {
        const chain = `${TEKTON_INSTALL_TYPE}$kubernetes:yaml/v2:ConfigFile$${CLUSTER_ROLE}`;
        const resource = role("tekton-triggers-core-interceptors", [readSecrets]);
        resource.urn = `urn:pulumi:dev::tekton-gitlab::${chain}::x`;
        assert.deepEqual(await checkPolicy(rbacRolesNoSecrets, resource), []);
      });
    });

    describe("the cancel-superseded Role (tekton/cancel/cancelTask.ts)", () => {
      const { app } = appAndContext();
      const cancel = (rules: any[]): FakeResource => ({
        type: ROLE,
        name: CANCEL_ROLE,
        props: { metadata: cancelRole(app).metadata, rules },
      });
      const { metadata, roleRef, subjects } = cancelRoleBinding(app);
      const cancelBinding: FakeResource = {
        type: RB,
        name: CANCEL_ROLE,
        props: { metadata, roleRef, subjects },
      };

      it("passes: get, list and patch of PipelineRuns, bound in the stack", async () => {
        const { rules } = cancelRole(app);
        for (const policy of [rbacRolesNoSecrets, rbacClusterRolesReadOnly]) {
          assert.deepEqual(await checkPolicy(policy, cancel(rules)), [], policy.name);
        }
        assert.deepEqual(
          await checkStackPolicy(rbacBindingRolesInStack, [cancel(rules), cancelBinding]),
          [],
        );
      });

      it("is still refused if it grew Secrets access", async () => {
        const rules = [...cancelRole(app).rules, readSecrets];
        const [violation] = await checkPolicy(rbacRolesNoSecrets, cancel(rules));
        assert.match(violation, /Role tekton-cancel-superseded grants rules\[1\] secrets/);
        const [stack] = await checkStackPolicy(rbacBindingRolesInStack, [
          cancel(rules),
          cancelBinding,
        ]);
        assert.match(
          stack,
          /RoleBinding tekton-cancel-superseded grants Role tekton-cancel-superseded, whose rules\[1\] secrets/,
        );
      });
    });

    describe("the merge request status reader's Role (tekton/mergeRequest/rbac.ts)", () => {
      const { app } = appAndContext({ apps: ([a]) => [{ ...a, mergeRequests: { build: true } }] });
      const reader = (rules: any[]): FakeResource => ({
        type: ROLE,
        name: "tekton-status-reader",
        props: { metadata: statusReaderRole(app).metadata, rules },
      });
      const { metadata, roleRef, subjects } = statusReaderRoleBinding(app);
      const readerBinding: FakeResource = {
        type: RB,
        name: "tekton-status-reader",
        props: { metadata, roleRef, subjects },
      };

      it("passes: get and list of TaskRuns, bound in the stack to an account listing no Secret", async () => {
        const { rules } = statusReaderRole(app);
        for (const policy of [rbacRolesNoSecrets, rbacClusterRolesReadOnly]) {
          assert.deepEqual(await checkPolicy(policy, reader(rules)), [], policy.name);
        }
        assert.deepEqual(await checkPolicy(rbacBindingsNoSecretRoles, readerBinding), []);
        assert.deepEqual(
          await checkStackPolicy(rbacBindingRolesInStack, [reader(rules), readerBinding]),
          [],
        );
        assert.equal((statusReaderServiceAccount(app) as any).secrets, undefined);
      });

      it("is refused if it grew Secrets or '*'", async () => {
        const { rules } = statusReaderRole(app);
        const [secrets] = await checkPolicy(rbacRolesNoSecrets, reader([...rules, readSecrets]));
        assert.match(secrets, /Role tekton-status-reader grants rules\[1\] secrets/);
        const everything = [{ apiGroups: ["tekton.dev"], resources: ["*"], verbs: ["get"] }];
        assert.equal((await checkPolicy(rbacRolesNoSecrets, reader(everything))).length, 1);
        const [stack] = await checkStackPolicy(rbacBindingRolesInStack, [
          reader([...rules, readSecrets]),
          readerBinding,
        ]);
        assert.match(
          stack,
          /RoleBinding tekton-status-reader grants Role tekton-status-reader, whose rules\[1\] secrets/,
        );
      });
    });

    describe("rbac-binding-roles-in-stack", () => {
      it("passes bindings of the stack's own roles that grant no Secrets", async () => {
        const resources = [
          role("tekton-gitlab-eventlistener-dev", [readTriggers]),
          binding("tekton-gitlab-eventlistener-dev", listenerSa),
          role("listener", [readTriggers], ROLE),
          binding("listener", listenerSa, undefined, RB, "Role"),
        ];
        assert.deepEqual(await checkStackPolicy(rbacBindingRolesInStack, resources), []);
      });

      it("refuses a ClusterRoleBinding to a ClusterRole the stack does not define", async () => {
        const [message] = await checkStackPolicy(rbacBindingRolesInStack, [
          binding("someones-role", listenerSa),
        ]);
        assert.match(message, /grants ClusterRole someones-role, which this stack does not define/);
      });

      it("judges a binding by the rules of the role in the stack, release roles included", async () => {
        // A renamed copy of Triggers' -clusterroles role, defined by the release (TektonInstall).
        const chain = `${TEKTON_INSTALL_TYPE}$kubernetes:yaml/v2:ConfigFile$${CLUSTER_ROLE}`;
        const releaseRole = role("listener-ish", [readTriggers, readSecrets]);
        releaseRole.urn = `urn:pulumi:dev::tekton-gitlab::${chain}::listener-ish`;
        const [crb, rb] = await checkStackPolicy(rbacBindingRolesInStack, [
          releaseRole,
          binding("listener-ish", listenerSa),
          binding("listener-ish", listenerSa, undefined, RB),
        ]);
        assert.match(
          crb,
          /ClusterRoleBinding binding grants ClusterRole listener-ish, whose rules\[1\] secrets/,
        );
        assert.match(rb, /^RoleBinding binding grants ClusterRole listener-ish/);
        const [own] = await checkStackPolicy(rbacBindingRolesInStack, [
          role("reader", [readSecrets], ROLE),
          binding("reader", listenerSa, undefined, RB, "Role"),
        ]);
        assert.match(own, /grants Role reader, whose rules\[0\] secrets/);
      });

      it("allows a RoleBinding to a ClusterRole outside the stack unless deny-listed", async () => {
        assert.deepEqual(
          await checkStackPolicy(rbacBindingRolesInStack, [
            binding("tekton-triggers-eventlistener-roles", listenerSa, undefined, RB),
          ]),
          [],
        );
      });
    });
  });

  describe("private-keys-in-ssh-auth-secrets", () => {
    const SECRET = "kubernetes:core/v1:Secret";
    // Armour around obviously fake content: the policy looks at the armour, not the key.
    const OPENSSH =
      "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key\n-----END OPENSSH PRIVATE KEY-----\n";
    const PEM = "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key\n-----END RSA PRIVATE KEY-----\n";
    const PKCS8 = "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----\n";
    const b64 = (text: string) => Buffer.from(text).toString("base64");
    const secret = (props: Record<string, any>): FakeResource => ({
      type: SECRET,
      name: "creds",
      props: { metadata: { name: "creds" }, ...props },
    });

    it("passes ssh-auth Secrets and Secrets without keys", async () => {
      const sshAuth = secret({
        type: "kubernetes.io/ssh-auth",
        stringData: { "ssh-privatekey": OPENSSH, known_hosts: "host ssh-ed25519 AAAA" },
      });
      assert.deepEqual(await checkPolicy(privateKeysInSshAuthSecrets, sshAuth), []);
      const token = secret({ type: "Opaque", stringData: { token: "a-webhook-token" } });
      assert.deepEqual(await checkPolicy(privateKeysInSshAuthSecrets, token), []);
      const docker = secret({
        type: "kubernetes.io/dockerconfigjson",
        stringData: { ".dockerconfigjson": '{"auths":{}}' },
      });
      assert.deepEqual(await checkPolicy(privateKeysInSshAuthSecrets, docker), []);
    });

    it("allows Tekton Chains' x509.pem in tekton-chains/signing-secrets only, also as a patch", async () => {
      const chains = (name: string, namespace: string, key: string, type = SECRET) => ({
        type,
        name: "signing",
        props: { metadata: { name, namespace }, stringData: { [key]: PKCS8 } },
      });
      const patch = "kubernetes:core/v1:SecretPatch";
      for (const type of [SECRET, patch]) {
        const ok = chains("signing-secrets", "tekton-chains", "x509.pem", type);
        assert.deepEqual(await checkPolicy(privateKeysInSshAuthSecrets, ok), [], type);
      }
      for (const bad of [
        chains("signing-secrets", "default", "x509.pem", patch),
        chains("other", "tekton-chains", "x509.pem", patch),
        chains("signing-secrets", "tekton-chains", "cosign.key", patch),
      ]) {
        assert.equal((await checkPolicy(privateKeysInSshAuthSecrets, bad)).length, 1);
      }
      const ssh = chains("signing-secrets", "tekton-chains", "x509.pem", patch);
      ssh.props.stringData["x509.pem"] = OPENSSH;
      assert.equal((await checkPolicy(privateKeysInSshAuthSecrets, ssh)).length, 1);
    });

    it("reports ssh-privatekey and armoured keys in other Secret types", async () => {
      const named = await checkPolicy(
        privateKeysInSshAuthSecrets,
        secret({ stringData: { "ssh-privatekey": "anything" } }),
      );
      assert.equal(named.length, 1);
      assert.match(named[0], /stringData\.ssh-privatekey but has type Opaque/);

      const encoded = await checkPolicy(
        privateKeysInSshAuthSecrets,
        secret({ type: "Opaque", data: { id_ed25519: b64(OPENSSH), other: b64("x") } }),
      );
      assert.equal(encoded.length, 1);
      assert.match(encoded[0], /data\.id_ed25519/);

      const pem = await checkPolicy(
        privateKeysInSshAuthSecrets,
        secret({ type: "Opaque", stringData: { "key.pem": PEM }, data: { raw: OPENSSH } }),
      );
      assert.equal(pem.length, 2, pem.join("\n"));
    });

    it("allows a certificate key in a TLS Secret's tls.key, but not an SSH key", async () => {
      const tls = (data: Record<string, string>) => secret({ type: "kubernetes.io/tls", data });
      const certificate = tls({ "tls.crt": b64("cert"), "tls.key": b64(PKCS8) });
      assert.deepEqual(await checkPolicy(privateKeysInSshAuthSecrets, certificate), []);
      assert.equal(
        (await checkPolicy(privateKeysInSshAuthSecrets, tls({ "tls.key": b64(OPENSSH) }))).length,
        1,
      );
      assert.equal(
        (await checkPolicy(privateKeysInSshAuthSecrets, tls({ "ssh-privatekey": b64(PKCS8) })))
          .length,
        1,
      );
    });

    it("skips values unknown during preview, but still sees the ssh-privatekey name", async () => {
      const unknownValue = secret({ type: "Opaque", stringData: { token: UNKNOWN_STRING } });
      assert.deepEqual(await checkPolicy(privateKeysInSshAuthSecrets, unknownValue), []);
      const unknownKey = secret({ stringData: { "ssh-privatekey": UNKNOWN_STRING } });
      assert.equal((await checkPolicy(privateKeysInSshAuthSecrets, unknownKey)).length, 1);
      const unknownType = secret({ type: UNKNOWN_STRING, stringData: { x: OPENSSH } });
      assert.deepEqual(await checkPolicy(privateKeysInSshAuthSecrets, unknownType), []);
    });
  });
});
