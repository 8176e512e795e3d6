import "../harness/mocks";
import * as assert from "node:assert/strict";
import * as k8s from "@pulumi/kubernetes";
import {
  isSecret,
  isSecretAt,
  registered,
  RegisteredResource,
  resetRegistrations,
  resolve,
  settle,
} from "../harness/mocks";
import { GitLabTrigger } from "../../components/app/gitlabTrigger";
import { SharedListener } from "../../components/listener/sharedListener";
import { listenerAdmission } from "../../tekton/listener/listenerAdmission";
import {
  listenerObjects,
  SharedListenerConfig,
  triggerObjects,
} from "../../tekton/listener/triggers";
import { exampleApp, exampleStack } from "./helpers";

const T = {
  component: "tekton-gitlab:app:GitLabTrigger",
  password: "random:index/randomPassword:RandomPassword",
  secret: "kubernetes:core/v1:Secret",
  sharedComponent: "tekton-gitlab:listener:SharedListener",
  namespace: "kubernetes:core/v1:Namespace",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  binding: "kubernetes:triggers.tekton.dev/v1beta1:TriggerBinding",
  template: "kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate",
  trigger: "kubernetes:triggers.tekton.dev/v1beta1:Trigger",
  listener: "kubernetes:triggers.tekton.dev/v1beta1:EventListener",
  ingress: "kubernetes:networking.k8s.io/v1:Ingress",
  policy: "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
  policyBinding: "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
  hook: "pulumi-nodejs:dynamic/gitlab:ProjectHook",
};

const MOCK_TOKEN = "mock-webhook-token-hello-python-webhook-token";

interface Deployed {
  trigger: GitLabTrigger;
  shared: SharedListener;
  resources: RegisteredResource[];
  find(type: string): RegisteredResource;
  all(type: string): RegisteredResource[];
}

function sharedConfig(edit?: (listener: any) => any): SharedListenerConfig {
  const stack = exampleStack();
  const listener = edit ? edit(structuredClone(stack.listener)) : stack.listener;
  return { ...listener, host: listener.host! };
}

async function deploy(
  edit?: (app: any) => any,
  withDependency = true,
  listenerEdit?: (listener: any) => any,
): Promise<Deployed> {
  resetRegistrations();
  const { app, ctx } = exampleApp(edit);
  const listener = sharedConfig(listenerEdit);
  const namespace = withDependency ? new k8s.core.v1.Namespace("ns", {}) : undefined;
  const clusterRole = new k8s.rbac.v1.ClusterRole("listener-role", {});
  const shared = new SharedListener("listener", {
    listener,
    apps: [app],
    context: { ...ctx },
    clusterRole: { name: "listener-role", resource: clusterRole },
  });
  const trigger = new GitLabTrigger(
    app.name,
    { app, context: { ...ctx }, listener, shared },
    namespace ? { dependsOn: [namespace] } : undefined,
  );
  await resolve(trigger.urn);
  await settle();
  const resources = [...registered];
  const all = (type: string) => resources.filter((r) => r.type === type);
  const find = (type: string) => {
    const found = all(type);
    assert.equal(found.length, 1, `expected one ${type}, got ${found.length}`);
    return found[0];
  };
  return { trigger, shared, resources, find, all };
}

describe("GitLabTrigger component", function () {
  this.timeout(20000);
  let d: Deployed;
  const { app, ctx } = exampleApp();
  const objects = triggerObjects(app, ctx);
  const shared = listenerObjects(sharedConfig(), [app], "listener-role");

  before(async () => {
    d = await deploy();
  });

  it("registers every child under the component with stable app-prefixed names", () => {
    const component = d.find(T.component);
    assert.equal(component.name, "hello-python");
    const children = d.resources.filter((r) => r.parent === component.urn);
    assert.deepEqual(
      children.map((r) => `${r.type} ${r.name}`).sort(),
      [
        `${T.secret} hello-python-webhook-secret`,
        `${T.hook} hello-python-webhook`,
        `${T.password} hello-python-webhook-token`,
        `${T.role} hello-python-pipelinerun-role`,
        `${T.roleBinding} hello-python-pipelinerun-rolebinding`,
        `${T.binding} hello-python-trigger-binding`,
        `${T.trigger} hello-python-trigger`,
        `${T.template} hello-python-trigger-template`,
      ].sort(),
    );
  });

  it("hands the component's dependsOn down to every child", () => {
    const namespace = d.resources.find((r) => r.name === "ns")!;
    const component = d.find(T.component);
    assert.deepEqual(component.dependencies, [namespace.urn]);
    const trigger = d.find(T.trigger);
    for (const child of d.resources.filter((r) => r.parent === component.urn)) {
      // The GitLab hook waits through its Trigger (and the shared route): every dependency is a
      // URN in its state entry, which must stay under 5 kB (tests/gitlab/state.test.ts).
      const waits =
        child.dependencies.includes(namespace.urn) ||
        (child.type.endsWith(":ProjectHook") && child.dependencies.includes(trigger.urn));
      assert.ok(waits, `${child.name} does not wait`);
    }
    assert.ok(trigger.dependencies.includes(namespace.urn));
  });

  it("generates a header-safe token of at least 32 characters", () => {
    const password = d.find(T.password);
    assert.ok(password.inputs.length >= 32);
    assert.equal(password.inputs.special, false);
  });

  it("stores the token as a secret in the app namespace, without a trailing newline", () => {
    const secret = d.find(T.secret);
    assert.equal(secret.inputs.metadata.name, "hello-python-webhook");
    assert.equal(secret.inputs.metadata.namespace, "python-hello-build");
    assert.equal(secret.inputs.type, "Opaque");
    assert.deepEqual(Object.keys(secret.inputs.stringData), ["token"]);
    assert.equal(secret.inputs.stringData.token, MOCK_TOKEN);
    assert.doesNotMatch(secret.inputs.stringData.token, /\s$/);
    assert.ok(isSecretAt(secret, "stringData.token"), secret.secretPaths.join());
  });

  it("points the gitlab interceptor at that Secret and key", () => {
    const secret = d.find(T.secret);
    const trigger = d.find(T.trigger);
    assert.equal(trigger.inputs.metadata.namespace, secret.inputs.metadata.namespace);
    const gitlab = trigger.inputs.spec.interceptors[1];
    assert.deepEqual(gitlab.params[0], {
      name: "secretRef",
      value: { secretName: secret.inputs.metadata.name, secretKey: "token" },
    });
  });

  it("deploys the Triggers objects exactly as the builders make them", () => {
    for (const [type, manifest] of [
      [T.binding, objects.binding],
      [T.template, objects.template],
      [T.trigger, objects.trigger],
      [T.listener, shared.listener],
    ] as const) {
      const { inputs } = d.find(type);
      assert.equal(inputs.apiVersion, manifest.apiVersion);
      assert.equal(inputs.kind, manifest.kind);
      assert.deepEqual(inputs.metadata, manifest.metadata);
      assert.deepEqual(inputs.spec, manifest.spec);
    }
  });

  it("deploys the shared listener's namespace, ServiceAccount, RBAC and Ingress", () => {
    const sharedUrn = d.find(T.sharedComponent).urn;
    const own = (type: string) => {
      const found = d.all(type).filter((r) => r.parent === sharedUrn);
      assert.equal(found.length, 1, type);
      return found[0];
    };
    assert.equal(own(T.namespace).inputs.metadata.name, "tekton-gitlab-listener");
    assert.deepEqual(own(T.serviceAccount).inputs.metadata, shared.serviceAccount.metadata);
    assert.deepEqual(own(T.role).inputs.rules, shared.role.rules);
    for (const [type, manifest] of [
      [T.roleBinding, shared.roleBinding],
      [T.clusterRoleBinding, shared.clusterRoleBinding],
    ] as const) {
      const { inputs } = own(type);
      assert.deepEqual(inputs.metadata, manifest.metadata);
      assert.deepEqual(inputs.roleRef, manifest.roleRef);
      assert.deepEqual(inputs.subjects, manifest.subjects);
    }
    const ingress = own(T.ingress).inputs;
    assert.deepEqual(ingress.metadata, shared.ingress.metadata);
    assert.deepEqual(ingress.spec, shared.ingress.spec);
  });

  it("lets the shared listener create PipelineRuns in the app namespace only", () => {
    const appComponent = d.find(T.component).urn;
    const role = d.all(T.role).find((r) => r.parent === appComponent)!;
    const binding = d.all(T.roleBinding).find((r) => r.parent === appComponent)!;
    assert.deepEqual(role.inputs.rules, objects.role.rules);
    assert.equal(binding.inputs.metadata.namespace, "python-hello-build");
    assert.deepEqual(binding.inputs.subjects, objects.roleBinding.subjects);
    assert.ok(binding.dependencies.includes(role.urn));
  });

  it("creates the Trigger after what it refers to, the hook after the Trigger and the route", () => {
    const urn = (type: string) => d.find(type).urn;
    const appComponent = d.find(T.component).urn;
    const trigger = d.find(T.trigger);
    const appBinding = d.all(T.roleBinding).find((r) => r.parent === appComponent)!;
    for (const type of [T.binding, T.template, T.secret]) {
      assert.ok(trigger.dependencies.includes(urn(type)), type);
    }
    assert.ok(trigger.dependencies.includes(appBinding.urn));
    const hook = d.find(T.hook);
    for (const type of [T.trigger, T.listener, T.ingress]) {
      assert.ok(hook.dependencies.includes(urn(type)), `hook waits for ${type}`);
    }
    const listener = d.find(T.listener);
    assert.ok(d.find(T.ingress).dependencies.includes(listener.urn));
    const sharedUrn = d.find(T.sharedComponent).urn;
    const sharedBindings = [T.roleBinding, T.clusterRoleBinding].map(
      (type) => d.all(type).find((r) => r.parent === sharedUrn)!.urn,
    );
    for (const b of sharedBindings) assert.ok(listener.dependencies.includes(b));
  });

  it("adds a push-only GitLab hook with the secret token on the source project", () => {
    const hook = d.find(T.hook);
    assert.equal(hook.inputs.project, "root/hello-python");
    assert.equal(hook.inputs.url, "https://builds.192-168-2-119.nip.io/");
    assert.equal(hook.inputs.token, MOCK_TOKEN);
    assert.ok(isSecretAt(hook, "token"), hook.secretPaths.join());
    assert.equal(hook.inputs.pushEvents, true);
    assert.equal(hook.inputs.pushEventsBranchFilter, "main");
    assert.equal(hook.inputs.enableSslVerification, true);
    assert.equal(hook.inputs.mergeRequestsEvents, false);
    assert.equal(hook.inputs.tagPushEvents, false);
  });

  it("exposes the URL, listener name and a secret token", async () => {
    assert.equal(d.trigger.webhookUrl, "https://builds.192-168-2-119.nip.io/");
    assert.equal(d.trigger.eventListenerName, "tekton-gitlab");
    assert.equal(await isSecret(d.trigger.webhookToken), true);
    assert.equal(await resolve(d.trigger.webhookToken), MOCK_TOKEN);
    assert.ok(d.trigger.hook);
    assert.equal(await resolve(d.trigger.hook!.hookId), 4343);
  });

  it("never registers the token outside secret inputs", () => {
    for (const resource of d.resources) {
      const plain = JSON.stringify(resource.inputs);
      if (!plain.includes(MOCK_TOKEN)) continue;
      // The only places the token may appear, each marked secret.
      const allowed: Record<string, string> = {
        [T.secret]: "stringData.token",
        [T.hook]: "token",
      };
      assert.ok(allowed[resource.type], `${resource.type} ${resource.name} holds the token`);
      assert.ok(isSecretAt(resource, allowed[resource.type]), resource.name);
    }
  });

  it("follows webhook TLS and SSL verification config on the hook", async () => {
    const plain = await deploy(
      (a) => ({ ...a, branch: "release/1.x" }),
      true,
      (l) => ({ ...l, webhook: { tls: false, sslVerification: false } }),
    );
    const hook = plain.find(T.hook);
    assert.equal(hook.inputs.url, "http://builds.192-168-2-119.nip.io/");
    assert.equal(hook.inputs.enableSslVerification, false);
    assert.equal(hook.inputs.pushEventsBranchFilter, "release/1.x");
    assert.equal(plain.trigger.webhookUrl, hook.inputs.url);
  });

  it("skips the hook when GitLab is not managed but still exposes URL and secret token", async () => {
    const manual = await deploy((a) => ({ ...a, manageDeployKeys: false }), false);
    assert.deepEqual(manual.all(T.hook), []);
    assert.equal(manual.trigger.hook, undefined);
    assert.equal(manual.trigger.webhookUrl, "https://builds.192-168-2-119.nip.io/");
    assert.equal(await isSecret(manual.trigger.webhookToken), true);
    assert.equal(manual.find(T.secret).inputs.stringData.token, MOCK_TOKEN);
    assert.equal(manual.all(T.trigger).length, 1);
    assert.equal(manual.all(T.listener).length, 1);
    assert.equal(manual.all(T.ingress).length, 1);
    assert.deepEqual(manual.find(T.component).dependencies, []);
  });
});

describe("SharedListener admission policy", function () {
  this.timeout(20000);
  const { app, ctx } = exampleApp();

  it("registers the app's ValidatingAdmissionPolicy and binding before the EventListener", async () => {
    const d = await deploy();
    const [policy, binding] = listenerAdmission(sharedConfig(), app, ctx);
    const registeredPolicy = d.find(T.policy);
    const registeredBinding = d.find(T.policyBinding);
    assert.deepEqual(registeredPolicy.inputs.metadata, policy.metadata);
    assert.deepEqual(registeredPolicy.inputs.spec, policy.spec);
    assert.deepEqual(registeredBinding.inputs.spec, binding.spec);
    assert.ok(registeredBinding.dependencies.includes(registeredPolicy.urn));
    // The listener creates runs only once the policy confines them.
    const listener = d.find(T.listener);
    assert.ok(listener.dependencies.includes(registeredPolicy.urn));
    assert.ok(listener.dependencies.includes(registeredBinding.urn));
  });

  it("registers no policy when listener.admissionPolicy is false (clusters before 1.30)", async () => {
    const d = await deploy(undefined, true, (l) => ({ ...l, admissionPolicy: false }));
    assert.deepEqual(d.all(T.policy), []);
    assert.deepEqual(d.all(T.policyBinding), []);
    assert.equal(d.all(T.listener).length, 1);
  });
});
