import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AppConfig, GitSshConfig, ImagesConfig, RegistryConfig } from "../config/schema";
import { appLabels } from "../tekton/names";
import {
  triggerNames,
  triggerObjects,
  WEBHOOK_TOKEN_KEY,
  webhookUrl as webhookUrlOf,
} from "../tekton/triggers";
import { ProjectHook } from "./gitlab";

export interface GitLabTriggerArgs {
  /** The app whose pushes start its pipeline (validated config, defaults resolved). */
  app: AppConfig;
  /** Stack-wide settings the PipelineRun is built from (clone URLs, registry workspaces). */
  context: { gitSsh: GitSshConfig; registry: RegistryConfig; images: ImagesConfig };
  /**
   * The stack's listener ClusterRole (components/listenerClusterRole.ts), shared by all apps;
   * the ClusterRoleBinding waits for it. Default: the name LISTENER_CLUSTER_ROLE, not created here.
   */
  clusterRole?: { name: string; resource: pulumi.Resource };
}

/**
 * Everything between "a developer pushes to the app's branch" and "a PipelineRun builds that
 * commit": webhook token and Secret, TriggerBinding, TriggerTemplate, EventListener with its
 * ServiceAccount and RBAC, the Ingress to it, and the GitLab project hook (unless GitLab
 * resources are not managed, in which case the URL and token are exposed for manual setup).
 *
 * Pass `dependsOn` the app's namespace and Tekton's `ready` resources: Triggers' admission
 * webhook rejects these objects until it serves, and every child inherits the option.
 */
export class GitLabTrigger extends pulumi.ComponentResource {
  /** Where GitLab posts push events (`https://<webhookHost>/`). */
  public readonly webhookUrl: string;
  /** Name of the EventListener; its Service is `el-<name>` on port 8080. */
  public readonly eventListenerName: string;
  /** The webhook token GitLab sends in `X-Gitlab-Token` (secret). */
  public readonly webhookToken: pulumi.Output<string>;
  /** The GitLab project hook, absent when `manageDeployKeys` is false. */
  public readonly hook?: ProjectHook;

  constructor(name: string, args: GitLabTriggerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tekton-gitlab:tekton:GitLabTrigger", name, {}, opts);
    const { app, context } = args;
    const names = triggerNames(app);
    const objects = triggerObjects(app, {
      ...context,
      listenerClusterRole: args.clusterRole?.name,
    });
    const prefix = app.name;
    // Children wait for the component, but only an explicit dependsOn is recorded in the state
    // (and so orders deletes too): hand the caller's dependencies (namespace, Tekton) down.
    const inherited = opts?.dependsOn;
    const after = (...resources: pulumi.Resource[]): pulumi.CustomResourceOptions => ({
      parent: this,
      dependsOn:
        inherited === undefined
          ? resources
          : // The SDK flattens nested arrays, Promises and Outputs in dependsOn.
            [inherited as pulumi.Input<pulumi.Resource>, ...resources],
    });
    const child = after();

    this.webhookUrl = webhookUrlOf(app);
    this.eventListenerName = names.listener;

    // Letters and digits only: the token travels in an HTTP header and is compared byte for byte.
    const password = new random.RandomPassword(
      `${prefix}-webhook-token`,
      { length: 48, special: false },
      child,
    );
    this.webhookToken = pulumi.secret(password.result);

    const secret = new k8s.core.v1.Secret(
      `${prefix}-webhook-secret`,
      {
        metadata: { name: names.webhookSecret, namespace: app.namespace, labels: appLabels(app) },
        type: "Opaque",
        // The raw token, no trailing newline: the gitlab interceptor compares bytes.
        stringData: { [WEBHOOK_TOKEN_KEY]: this.webhookToken },
      },
      child,
    );

    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${prefix}-listener-sa`,
      { metadata: objects.serviceAccount.metadata },
      child,
    );
    const role = new k8s.rbac.v1.Role(
      `${prefix}-listener-role`,
      { metadata: objects.role.metadata, rules: objects.role.rules },
      child,
    );
    const roleBinding = new k8s.rbac.v1.RoleBinding(
      `${prefix}-listener-rolebinding`,
      {
        metadata: objects.roleBinding.metadata,
        roleRef: objects.roleBinding.roleRef,
        subjects: objects.roleBinding.subjects,
      },
      after(serviceAccount, role),
    );
    const clusterRoleBinding = new k8s.rbac.v1.ClusterRoleBinding(
      `${prefix}-listener-clusterrolebinding`,
      {
        metadata: objects.clusterRoleBinding.metadata,
        roleRef: objects.clusterRoleBinding.roleRef,
        subjects: objects.clusterRoleBinding.subjects,
      },
      after(serviceAccount, ...(args.clusterRole ? [args.clusterRole.resource] : [])),
    );

    const binding = new k8s.apiextensions.CustomResource(
      `${prefix}-trigger-binding`,
      objects.binding,
      child,
    );
    const template = new k8s.apiextensions.CustomResource(
      `${prefix}-trigger-template`,
      objects.template,
      child,
    );
    // Created last among the Triggers objects: its pod resolves the binding, template, token
    // Secret and RBAC at start-up.
    const listener = new k8s.apiextensions.CustomResource(
      `${prefix}-event-listener`,
      objects.listener,
      after(binding, template, secret, serviceAccount, roleBinding, clusterRoleBinding),
    );

    const ingress = new k8s.networking.v1.Ingress(
      `${prefix}-webhook-ingress`,
      { metadata: objects.ingress.metadata, spec: objects.ingress.spec },
      after(listener),
    );

    if (app.manageDeployKeys) {
      this.hook = new ProjectHook(
        `${prefix}-webhook`,
        {
          project: app.sourceProject,
          url: this.webhookUrl,
          token: this.webhookToken,
          pushEvents: true,
          pushEventsBranchFilter: app.branch,
          enableSslVerification: app.webhook.sslVerification,
          mergeRequestsEvents: false,
          tagPushEvents: false,
        },
        // Only what it needs directly: the listener and its Ingress, which already wait for
        // everything handed down (Tekton, its readiness gate, the credentials). Each dependency
        // is a URN in the hook's state entry; inheriting all of them again took it past 5 kB
        // with long names (tests/gitlab/state.test.ts). Deletes still run hook first.
        { parent: this, dependsOn: [ingress, listener] },
      );
    }

    this.registerOutputs({
      webhookUrl: this.webhookUrl,
      eventListenerName: this.eventListenerName,
      webhookToken: this.webhookToken,
      hookId: this.hook?.hookId,
    });
  }
}
