import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AppConfig } from "../../config/schema";
import { appLabels } from "../../tekton/core/names";
import {
  SharedListenerConfig,
  TriggerContext,
  triggerNames,
  triggerObjects,
  WEBHOOK_TOKEN_KEY,
} from "../../tekton/listener/triggers";
import { mergeRequestTriggerObjects } from "../../tekton/mergeRequest/triggers";
import { childOptions } from "../core/childOptions";
import { ProjectHook } from "../gitlab";
import { SharedListener } from "../listener/sharedListener";
import { withPreviousType } from "../core/typeAliases";

export interface GitLabTriggerArgs {
  /** The app whose pushes start its pipeline (validated config, defaults resolved). */
  app: AppConfig;
  /** Stack-wide settings the PipelineRun is built from (clone URLs, registry workspaces). */
  context: TriggerContext;
  /** `tekton-gitlab:listener` (host set). */
  listener: SharedListenerConfig;
  /**
   * The shared listener (components/listener/sharedListener.ts): the app's hook points at its URL and
   * waits for its route; the RoleBinding names its ServiceAccount.
   */
  shared: SharedListener;
}

/** Type token: `tekton-gitlab:<feature folder>:<Class>` (components/core/typeAliases.ts). */
const TYPE = "tekton-gitlab:app:GitLabTrigger";

/**
 * Everything of one app between "a developer pushes to the app's branch" and "a PipelineRun
 * builds that commit", in the app's build namespace: the webhook token and Secret, the
 * TriggerBinding, TriggerTemplate and Trigger the shared listener selects (with merge request
 * builds, also their TriggerTemplate and the bindings and Triggers for merge request and comment
 * events, tekton/mergeRequest/triggers.ts), the RoleBinding that
 * lets that listener create PipelineRuns here, and the GitLab project hook pointing at the
 * shared listener (unless GitLab resources are not managed: then URL and token are exposed).
 * No pod, Service, Ingress or host of its own.
 *
 * Pass `dependsOn` the app's namespace and Tekton's `ready` resources: Triggers' admission
 * webhook rejects these objects until it serves, and every child inherits the option.
 */
export class GitLabTrigger extends pulumi.ComponentResource {
  /** Where GitLab posts push events: the shared listener's URL. */
  public readonly webhookUrl: string;
  /** Name of the shared EventListener; its Service is `el-<name>` on port 8080. */
  public readonly eventListenerName: string;
  /** The webhook token GitLab sends in `X-Gitlab-Token` (secret). */
  public readonly webhookToken: pulumi.Output<string>;
  /** The GitLab project hook, absent when `manageDeployKeys` is false. */
  public readonly hook?: ProjectHook;

  constructor(name: string, args: GitLabTriggerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPE, name, {}, withPreviousType("tekton-gitlab:tekton:GitLabTrigger", opts));
    const { app, context, listener, shared } = args;
    const names = triggerNames(app);
    const objects = triggerObjects(app, context, listener);
    const prefix = app.name;
    // Children get the caller's dependencies (namespace, Tekton) handed down.
    const after = childOptions(this, opts);
    const child = after();

    this.webhookUrl = shared.webhookUrl;
    this.eventListenerName = shared.eventListenerName;

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

    const role = new k8s.rbac.v1.Role(
      `${prefix}-pipelinerun-role`,
      { metadata: objects.role.metadata, rules: objects.role.rules },
      child,
    );
    const roleBinding = new k8s.rbac.v1.RoleBinding(
      `${prefix}-pipelinerun-rolebinding`,
      {
        metadata: objects.roleBinding.metadata,
        roleRef: objects.roleBinding.roleRef,
        subjects: objects.roleBinding.subjects,
      },
      after(role, shared.namespace),
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
    // Last of the app's Triggers objects: the listener acts on it as soon as its informer sees
    // it, so what it refers to (binding, template, token Secret, the right to create the
    // PipelineRun) exists first.
    const trigger = new k8s.apiextensions.CustomResource(
      `${prefix}-trigger`,
      objects.trigger,
      after(binding, template, secret, roleBinding),
    );

    // Merge request builds (tekton/mergeRequest): their template, and a binding and a Trigger for
    // merge request events and one for comments, behind the same token Secret.
    const mergeRequest = mergeRequestTriggerObjects(app, context, listener);
    const mergeRequestTriggers: pulumi.Resource[] = [];
    if (mergeRequest !== undefined) {
      const mrTemplate = new k8s.apiextensions.CustomResource(
        `${prefix}-merge-request-trigger-template`,
        mergeRequest.template,
        child,
      );
      mergeRequest.triggers.forEach((triggerObject, i) => {
        const bindingObject = mergeRequest.bindings[i];
        const mrBinding = new k8s.apiextensions.CustomResource(
          `${bindingObject.metadata.name}-trigger-binding`,
          bindingObject,
          child,
        );
        mergeRequestTriggers.push(
          new k8s.apiextensions.CustomResource(
            `${triggerObject.metadata.name}-trigger`,
            triggerObject,
            after(mrBinding, mrTemplate, secret, roleBinding),
          ),
        );
      });
    }

    if (app.manageDeployKeys) {
      // Repointed (a URL change replaces the hook, create-before-delete) only once the shared
      // route and this app's Trigger are live: no push is lost while migrating.
      this.hook = new ProjectHook(
        `${prefix}-webhook`,
        {
          project: app.sourceProject,
          url: this.webhookUrl,
          token: this.webhookToken,
          pushEvents: true,
          pushEventsBranchFilter: app.branch,
          enableSslVerification: listener.webhook.sslVerification,
          // Merge request and comment events only for merge request builds: an existing hook
          // is updated in place (same id, same token).
          mergeRequestsEvents: app.mergeRequests.build,
          ...(app.mergeRequests.build ? { noteEvents: true } : {}),
          tagPushEvents: false,
        },
        // Only what it needs directly: its Trigger and the shared route (listener and Ingress),
        // which already wait for everything handed down (Tekton, its readiness gate, the
        // credentials). Each dependency is a URN in the hook's state entry; inheriting all of
        // them again took it past 5 kB with long names (tests/gitlab/state.test.ts).
        { parent: this, dependsOn: [trigger, ...mergeRequestTriggers, ...shared.route] },
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
