// The cancel task's identity as the program registers it (components/app/supersededRuns.ts): in the
// build namespace, after it, and before the Trigger whose runs name the account.
import "../harness/mocks";
import * as assert from "node:assert/strict";
import { exampleConfig, runProgram, withStructured } from "../harness/program";
import { findObject } from "../harness/registered";

const SA = "kubernetes:core/v1:ServiceAccount";
const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
const TRIGGER = "kubernetes:triggers.tekton.dev/v1beta1:Trigger";
const TEMPLATE = "kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate";
const COMPONENT = "tekton-gitlab:app:SupersededRuns";

describe("SupersededRuns component (cancel-in-progress identity)", function () {
  this.timeout(20000);

  it("registers tekton-cancel, its Role and RoleBinding after the namespace, before the Trigger", async () => {
    const run = await runProgram(exampleConfig());
    assert.ifError(run.error);
    const byName = (type: string, name: string) => findObject(run, type, name);
    const namespace = byName("kubernetes:core/v1:Namespace", "python-hello-build");
    const component = run.resources.find((r) => r.type === COMPONENT);
    assert.ok(component);
    assert.equal(component.name, "hello-python");
    const account = byName(SA, "tekton-cancel");
    const role = byName(ROLE, "tekton-cancel-superseded");
    const binding = byName(BINDING, "tekton-cancel-superseded");
    for (const child of [account, role, binding]) {
      assert.equal(child.parent, component.urn, child.name);
      assert.equal(child.inputs.metadata.namespace, "python-hello-build", child.name);
      assert.ok(
        child.dependencies.includes(namespace.urn),
        `${child.name} waits for the namespace`,
      );
    }
    assert.ok(binding.dependencies.includes(role.urn));
    assert.ok(binding.dependencies.includes(account.urn));
    // A run that names tekton-cancel must find it: the template and the Trigger wait for it.
    for (const type of [TEMPLATE, TRIGGER]) {
      const object = run.resources.find((r) => r.type === type)!;
      assert.ok(object.dependencies.includes(account.urn), `${type} waits for tekton-cancel`);
      assert.ok(object.dependencies.includes(binding.urn), `${type} waits for the RoleBinding`);
    }
  });

  it("registers nothing of it for an app with cancelSuperseded: false", async () => {
    const config = withStructured(exampleConfig(), "apps", (apps) =>
      apps.map((a: any) => ({ ...a, cancelSuperseded: false })),
    );
    const run = await runProgram(config);
    assert.ifError(run.error);
    assert.deepEqual(
      run.resources.filter(
        (r) =>
          r.type === COMPONENT ||
          r.inputs.metadata?.name === "tekton-cancel" ||
          r.inputs.metadata?.name === "tekton-cancel-superseded" ||
          r.inputs.metadata?.name === "cancel-superseded",
      ),
      [],
    );
    const template = run.resources.find((r) => r.type === TEMPLATE)!;
    const runTemplate = template.inputs.spec.resourcetemplates[0];
    assert.ok(
      !(runTemplate.spec.taskRunSpecs ?? []).some(
        (s: any) => s.serviceAccountName === "tekton-cancel",
      ),
    );
    // The label stays (cheap, and it lets `kubectl get -l` find a branch's runs either way).
    assert.match(runTemplate.metadata.labels["tekton-gitlab.io/branch-hash"], /^[0-9a-f]{40}$/);
  });
});
