import "../harness/mocks";
import * as assert from "node:assert/strict";
import { exampleConfig, runProgram, withStructured } from "../harness/program";
import { resourcesOfType } from "../harness/registered";

const CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";
const CRB = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding";

describe("the listener's ClusterRole", function () {
  this.timeout(30000);

  it("is created once per stack and bound once, to the shared listener, Secrets excluded", async () => {
    const config = withStructured(exampleConfig(), "apps", (apps) => [
      apps[0],
      { ...apps[0], name: "second", namespace: "second-build" },
    ]);
    const run = await runProgram(config);
    assert.ifError(run.error);
    const roles = resourcesOfType(run, CLUSTER_ROLE);
    assert.equal(roles.length, 1);
    const [role] = roles;
    // Named after the stack (the mocks run stack "dev"): cluster-scoped, so stacks must not share.
    assert.equal(role.inputs.metadata.name, "tekton-gitlab-eventlistener-dev");
    assert.doesNotMatch(JSON.stringify(role.inputs.rules), /secrets|\*/);
    // One binding however many apps: the shared listener's ServiceAccount.
    const bindings = resourcesOfType(run, CRB);
    assert.equal(bindings.length, 1);
    const [binding] = bindings;
    assert.deepEqual(binding.inputs.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "tekton-gitlab-eventlistener-dev",
    });
    assert.deepEqual(binding.inputs.subjects, [
      {
        kind: "ServiceAccount",
        name: "tekton-gitlab-listener",
        namespace: "tekton-gitlab-listener",
      },
    ]);
    assert.ok(binding.dependencies.includes(role.urn), binding.name);
  });

  it("creates no listener, Service or Ingress for a stack without apps", async () => {
    let config = withStructured(exampleConfig(), "apps", () => []);
    config = withStructured(config, "listener", () => undefined);
    const run = await runProgram(config);
    assert.ifError(run.error);
    for (const type of [
      "kubernetes:triggers.tekton.dev/v1beta1:EventListener",
      "kubernetes:networking.k8s.io/v1:Ingress",
      "tekton-gitlab:listener:SharedListener",
    ]) {
      assert.deepEqual(resourcesOfType(run, type), [], type);
    }
  });
});
