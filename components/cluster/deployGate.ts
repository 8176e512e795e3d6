// How a readiness gate (tekton/cluster/readinessGate.ts) is registered, for Tekton's webhooks
// (TektonInstall) and the pruner's (PrunerInstall).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GATE_CREATE_TIMEOUT, gateManifests } from "../../tekton/cluster/readinessGate";

/**
 * Registers a readiness gate (tekton/cluster/readinessGate.ts `gateManifests`) after `releases`: its
 * ServiceAccount, Role, RoleBinding and the Job everything behind the gate depends on.
 */
export function deployGate(
  name: string,
  gate: ReturnType<typeof gateManifests>,
  parent: pulumi.Resource,
  releases: pulumi.Resource[],
): k8s.batch.v1.Job {
  const afterReleases = { parent, dependsOn: releases };
  const serviceAccount = new k8s.core.v1.ServiceAccount(
    `${name}-serviceaccount`,
    { metadata: gate.serviceAccount.metadata },
    afterReleases,
  );
  const role = new k8s.rbac.v1.Role(
    `${name}-role`,
    { metadata: gate.role.metadata, rules: gate.role.rules },
    afterReleases,
  );
  const roleBinding = new k8s.rbac.v1.RoleBinding(
    `${name}-rolebinding`,
    {
      metadata: gate.roleBinding.metadata,
      roleRef: gate.roleBinding.roleRef,
      subjects: gate.roleBinding.subjects,
    },
    { parent, dependsOn: [...releases, role, serviceAccount] },
  );
  return new k8s.batch.v1.Job(
    name,
    { metadata: gate.job.metadata, spec: gate.job.spec },
    {
      parent,
      dependsOn: [...releases, serviceAccount, role, roleBinding],
      // The Job's name is fixed: a replacement (upgrade, or a gate that failed) must delete
      // the old Job first.
      deleteBeforeReplace: true,
      customTimeouts: { create: GATE_CREATE_TIMEOUT, update: GATE_CREATE_TIMEOUT },
    },
  );
}
