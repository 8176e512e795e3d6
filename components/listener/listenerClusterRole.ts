import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { listenerClusterRole, listenerClusterRoleName } from "../../tekton/listener/triggers";
import { withPreviousType } from "../core/typeAliases";

/** Type token: `tekton-gitlab:<feature folder>:<Class>` (components/core/typeAliases.ts). */
const TYPE = "tekton-gitlab:listener:ListenerClusterRole";

/**
 * The one ClusterRole the shared EventListener is bound to (tekton/listener/triggers.ts
 * `listenerClusterRole`: reads of ClusterTriggerBindings and ClusterInterceptors, no Secrets).
 * Created once per stack, named after the stack: it is cluster-scoped, so two stacks on one
 * cluster each own theirs and deleting one stack leaves the other's listeners working.
 */
export class ListenerClusterRole extends pulumi.ComponentResource {
  /** Name of the ClusterRole, for the shared listener's ClusterRoleBinding. */
  public readonly roleName: string;
  /** The ClusterRole itself, for the bindings' dependsOn. */
  public readonly role: k8s.rbac.v1.ClusterRole;

  constructor(name: string, args: { stack: string }, opts?: pulumi.ComponentResourceOptions) {
    super(TYPE, name, {}, withPreviousType("tekton-gitlab:tekton:ListenerClusterRole", opts));
    const manifest = listenerClusterRole(listenerClusterRoleName(args.stack));
    this.roleName = manifest.metadata.name;
    this.role = new k8s.rbac.v1.ClusterRole(
      name,
      { metadata: manifest.metadata, rules: manifest.rules },
      { parent: this },
    );
    this.registerOutputs({ roleName: this.roleName });
  }
}
