import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppConfig } from "../../config/schema";
import { listenerAdmission } from "../../tekton/listener/listenerAdmission";
import {
  listenerObjects,
  SharedListenerConfig,
  TriggerContext,
  webhookUrl,
} from "../../tekton/listener/triggers";
import { childOptions } from "../core/childOptions";
import { withPreviousType } from "../core/typeAliases";

export interface SharedListenerArgs {
  /** `tekton-gitlab:listener`, validated (host set: there is at least one app). */
  listener: SharedListenerConfig;
  /** Every app: the listener selects the Triggers in their namespaces. */
  apps: AppConfig[];
  /** What the apps' TriggerTemplates are rendered from: their admission policies pin it. */
  context: TriggerContext;
  /** The stack's listener ClusterRole (components/listener/listenerClusterRole.ts). */
  clusterRole: { name: string; resource: pulumi.Resource };
}

/** Type token: `tekton-gitlab:<feature folder>:<Class>` (components/core/typeAliases.ts). */
const TYPE = "tekton-gitlab:listener:SharedListener";

/**
 * The one EventListener every app's GitLab hook posts to, in a namespace of its own that holds
 * no app Secret: the namespace, the listener's ServiceAccount and RBAC (no Secrets anywhere),
 * the EventListener (one Deployment and one `el-` Service for the whole stack) and the one
 * Ingress with TLS. Each app's route is its own Trigger (components/app/gitlabTrigger.ts).
 *
 * Pass `dependsOn` Tekton's `ready` resources: Triggers' admission webhook must serve first.
 */
export class SharedListener extends pulumi.ComponentResource {
  /** Where every app's GitLab hook posts (`https://<listener.host>/`). */
  public readonly webhookUrl: string;
  /** Name of the EventListener; its Service is `el-<name>` on port 8080. */
  public readonly eventListenerName: string;
  public readonly namespaceName: string;
  public readonly serviceAccountName: string;
  /**
   * The route (EventListener and Ingress): every app's hook waits for it, so a hook is repointed
   * only once the shared route is live.
   */
  public readonly route: pulumi.Resource[];
  /** The listener's namespace, for the apps' RoleBindings naming its ServiceAccount. */
  public readonly namespace: k8s.core.v1.Namespace;

  constructor(name: string, args: SharedListenerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPE, name, {}, withPreviousType("tekton-gitlab:tekton:SharedListener", opts));
    const { listener, apps } = args;
    const objects = listenerObjects(listener, apps, args.clusterRole.name);
    const after = childOptions(this, opts);

    this.webhookUrl = webhookUrl(listener);
    this.eventListenerName = objects.listener.metadata.name;
    this.namespaceName = listener.namespace;
    this.serviceAccountName = objects.serviceAccount.metadata.name;

    this.namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: listener.namespace, labels: objects.listener.metadata.labels } },
      after(),
    );
    const inNamespace = (...resources: pulumi.Resource[]) => after(this.namespace, ...resources);
    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: objects.serviceAccount.metadata },
      inNamespace(),
    );
    const role = new k8s.rbac.v1.Role(
      `${name}-role`,
      { metadata: objects.role.metadata, rules: objects.role.rules },
      inNamespace(),
    );
    const roleBinding = new k8s.rbac.v1.RoleBinding(
      `${name}-rolebinding`,
      {
        metadata: objects.roleBinding.metadata,
        roleRef: objects.roleBinding.roleRef,
        subjects: objects.roleBinding.subjects,
      },
      inNamespace(serviceAccount, role),
    );
    const clusterRoleBinding = new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-clusterrolebinding`,
      {
        metadata: objects.clusterRoleBinding.metadata,
        roleRef: objects.clusterRoleBinding.roleRef,
        subjects: objects.clusterRoleBinding.subjects,
      },
      inNamespace(serviceAccount, args.clusterRole.resource),
    );
    // Per app, the ValidatingAdmissionPolicy that lets the listener create only the run the
    // app's template renders (tekton/listener/listenerAdmission.ts). Cluster-scoped; the listener waits
    // for them so it never creates a run before they confine it.
    const admission = listener.admissionPolicy
      ? apps.flatMap((app) => {
          const [policyObject, bindingObject] = listenerAdmission(listener, app, args.context);
          const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            `${name}-${app.name}-admission-policy`,
            { metadata: policyObject.metadata, spec: policyObject.spec },
            after(),
          );
          const binding = new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            `${name}-${app.name}-admission-binding`,
            { metadata: bindingObject.metadata, spec: bindingObject.spec },
            after(policy),
          );
          return [policy, binding];
        })
      : [];
    // Its pod starts its informers with the RBAC above in place.
    const eventListener = new k8s.apiextensions.CustomResource(
      `${name}-event-listener`,
      objects.listener,
      inNamespace(serviceAccount, roleBinding, clusterRoleBinding, ...admission),
    );
    const ingress = new k8s.networking.v1.Ingress(
      `${name}-webhook-ingress`,
      { metadata: objects.ingress.metadata, spec: objects.ingress.spec },
      inNamespace(eventListener),
    );
    this.route = [eventListener, ingress];

    this.registerOutputs({
      webhookUrl: this.webhookUrl,
      eventListenerName: this.eventListenerName,
    });
  }
}
