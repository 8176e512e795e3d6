// What an app's GitLab trigger looks like: pure builders returning plain manifests, so they can
// be tested and rendered without Pulumi. components/app/gitlabTrigger.ts deploys them.
import {
  AppConfig,
  DEFAULT_LISTENER_NAMESPACE,
  GitLabEndpoint,
  GitSshConfig,
  ImagesConfig,
  ListenerConfig,
  RegistryConfig,
  STATUS_TOKEN_KEY,
} from "../../config/schema";
import {
  appLabels,
  BUILD_SERVICE_ACCOUNT,
  GIT_PULL_SECRET,
  GIT_WRITE_SECRET,
  GITLAB_CA_CONFIGMAP,
  PIPELINE_PARAMS,
  pipelineName,
  REGISTRY_CA_CONFIGMAP,
  REGISTRY_SECRET,
  RUN_METADATA,
  sshCloneUrl,
  WORKSPACES,
} from "../core/names";
import {
  ClusterRoleBindingManifest,
  ClusterRoleManifest,
  EventListener,
  IngressManifest,
  ListenerObjects,
  PipelineRunTemplate,
  RoleBindingManifest,
  RoleManifest,
  ServiceAccountManifest,
  Trigger,
  TriggerBinding,
  TriggerObjects,
  TriggerTemplate,
  WorkspaceBinding,
} from "../core/triggerTypes";
import { runTimeouts } from "../core/timeouts";
import { BUILD_FS_GROUP } from "../core/steps";
import { buildTaskRunSpecs } from "../build/buildTask";
import { cancelRunLabels, cancelTaskRunSpecs } from "../cancel/cancelTask";

/** The listener config once validated with at least one app: `host` is set. */
export type SharedListenerConfig = ListenerConfig & { host: string };

/** What the trigger needs from the stack config (the same shape as the pipeline's context). */
export interface TriggerContext {
  gitSsh: GitSshConfig;
  registry: RegistryConfig;
  images?: ImagesConfig;
  /** Name of the stack's listener ClusterRole (default LISTENER_CLUSTER_ROLE). */
  listenerClusterRole?: string;
  /** GitLab's API for the status tasks: with a CA, the run binds ConfigMap gitlab-ca. */
  gitlab?: GitLabEndpoint;
}

/** Key of the webhook token in the app's webhook Secret. */
export const WEBHOOK_TOKEN_KEY = "token";
/** Port of the `el-<listener>` Service Triggers creates for an EventListener. */
export const EVENT_LISTENER_PORT = 8080;
/** The GitLab event header value of a branch push (`X-Gitlab-Event`). */
export const PUSH_EVENT_TYPE = "Push Hook";
/**
 * Default name of the stack's ClusterRole for its listener (components/listener/listenerClusterRole.ts
 * names it per stack, see listenerClusterRoleName). Not Triggers' own
 * `tekton-triggers-eventlistener-clusterroles`: in Triggers v0.37.0 config/200-clusterrole.yaml
 * that role also grants `secrets: get, list, watch` cluster-wide, which the listener, the one
 * pod reachable from the internet, does not need.
 */
export const LISTENER_CLUSTER_ROLE = "tekton-gitlab-eventlistener";

/** The stack's listener ClusterRole name: cluster-scoped, so two stacks must not share it. */
export function listenerClusterRoleName(stack: string): string {
  return `${LISTENER_CLUSTER_ROLE}-${stack}`;
}

/** Params the TriggerBinding extracts from a push event and the TriggerTemplate declares. */
export const TRIGGER_PARAMS = {
  revision: "revision",
  ref: "ref",
  projectPath: "project-path",
  commitLabel: "commit-label",
} as const;

/**
 * CEL overlay holding the commit as a label value: label values stop at 63 characters, so a
 * SHA-256 commit (64 hex) is cut to 40; a SHA-1 commit is whole.
 */
export const COMMIT_LABEL_OVERLAY = {
  key: "commit_label",
  expression: "body.checkout_sha.truncate(40)",
} as const;

/**
 * Names of an app's trigger objects, all in the app's build namespace. The listener itself is
 * shared (listenerNames); the app keeps its Trigger, binding, template, token Secret and the
 * RoleBinding that lets the shared listener create PipelineRuns here.
 */
export function triggerNames(app: Pick<AppConfig, "name" | "namespace">) {
  return {
    binding: `${app.name}-push`,
    template: `${app.name}-pipelinerun`,
    trigger: `${app.name}-gitlab-push`,
    /** Role + RoleBinding: the shared listener may create PipelineRuns in this namespace only. */
    role: `${app.name}-pipelinerun-creator`,
    roleBinding: `${app.name}-pipelinerun-creator`,
    webhookSecret: `${app.name}-webhook`,
  };
}

/** Label on every app's Trigger: the shared listener's labelSelector picks them by it. */
export const LISTENER_LABEL = "tekton-gitlab.io/listener";

/** Names of the shared listener's objects, all in `listener.namespace` but the ClusterRoleBinding. */
export function listenerNames(listener: Pick<ListenerConfig, "namespace">) {
  const name = "tekton-gitlab";
  return {
    listener: name,
    /** The Service Triggers creates for the listener. */
    service: `el-${name}`,
    serviceAccount: `${name}-listener`,
    role: `${name}-listener`,
    roleBinding: `${name}-listener`,
    // Cluster-scoped: the listener namespace keeps two stacks' bindings apart.
    clusterRoleBinding: `tekton-gitlab-${listener.namespace}-listener`,
    ingress: `${name}-webhook`,
  };
}

/**
 * The URL every app's GitLab hook posts to; plain http only when the config says TLS is off.
 * One path for all apps: Triggers v0.37.0 routes nothing by path (pkg/sink/sink.go
 * `HandleEvent` evaluates every selected Trigger for every request, whatever the path).
 */
export function webhookUrl(listener: Pick<ListenerConfig, "host" | "webhook">): string {
  const scheme = listener.webhook.tls === false ? "http" : "https";
  return `${scheme}://${listener.host}/`;
}

/**
 * A CEL single-quoted string literal for `value`. Backslashes and quotes are escaped and any
 * control or non-ASCII character is written as a \u escape, so no value can end the literal
 * early or change the expression around it.
 */
export function celStringLiteral(value: string): string {
  let out = "'";
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === "\\" || char === "'") out += `\\${char}`;
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return `${out}'`;
}

/**
 * The CEL interceptor's filter: a push to exactly the configured branch, whose checkout_sha is a
 * full commit id: 40 hex digits (SHA-1) or 64 (SHA-256 repositories), the same lengths
 * generate-image-tag accepts. Branch deletions (checkout_sha null) are dropped, and only a hex
 * SHA can reach the template, where Triggers substitutes params into JSON without escaping them.
 */
export function pushFilter(branch: string): string {
  return [
    `body.ref == ${celStringLiteral(`refs/heads/${branch}`)}`,
    "type(body.checkout_sha) == string",
    "body.checkout_sha.matches('^([0-9a-f]{40}|[0-9a-f]{64})$')",
  ].join(" && ");
}

/**
 * A Kubernetes label value standing for `text`: characters outside [A-Za-z0-9._-] become '-',
 * it starts and ends alphanumeric and has at most 63 characters ("" when nothing is left).
 */
export function labelValue(text: string): string {
  const trim = (value: string) => value.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  return trim(trim(text.replace(/[^A-Za-z0-9._-]+/g, "-")).slice(0, 63));
}

export function triggerBinding(app: AppConfig): TriggerBinding {
  const names = triggerNames(app);
  return {
    apiVersion: "triggers.tekton.dev/v1beta1",
    kind: "TriggerBinding",
    metadata: { name: names.binding, namespace: app.namespace, labels: appLabels(app) },
    spec: {
      // The clone URL is deliberately not read from the payload: it comes from config, so a
      // delivery cannot point the build (and its deploy key) at another repository.
      params: [
        { name: TRIGGER_PARAMS.revision, value: "$(body.checkout_sha)" },
        { name: TRIGGER_PARAMS.ref, value: "$(body.ref)" },
        { name: TRIGGER_PARAMS.projectPath, value: "$(body.project.path_with_namespace)" },
        { name: TRIGGER_PARAMS.commitLabel, value: `$(extensions.${COMMIT_LABEL_OVERLAY.key})` },
      ],
    },
  };
}

/** Workspace `docker-config` bound to a kubernetes.io/dockerconfigjson Secret. */
export function dockerConfigBinding(secretName: string): WorkspaceBinding {
  return {
    name: WORKSPACES.dockerConfig,
    // Kaniko reads `config.json`; a kubernetes.io/dockerconfigjson Secret names it otherwise.
    secret: { secretName, items: [{ key: ".dockerconfigjson", path: "config.json" }] },
  };
}

/** The PipelineRun's workspace bindings, one per workspace the Pipeline declares. */
export function pipelineRunWorkspaces(app: AppConfig, ctx: TriggerContext): WorkspaceBinding[] {
  const { storageClassName } = app.pipelineRun;
  const workspaces: WorkspaceBinding[] = [
    {
      name: WORKSPACES.source,
      volumeClaimTemplate: {
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: app.pipelineRun.workspaceSize } },
          ...(storageClassName === undefined ? {} : { storageClassName }),
        },
      },
    },
    { name: WORKSPACES.operations, emptyDir: {} },
    // Credentials as Secret workspaces: each reaches only the pipeline task binding it.
    { name: WORKSPACES.gitPull, secret: { secretName: GIT_PULL_SECRET } },
    { name: WORKSPACES.gitWrite, secret: { secretName: GIT_WRITE_SECRET } },
  ];
  if (ctx.registry.username !== undefined) workspaces.push(dockerConfigBinding(REGISTRY_SECRET));
  if (ctx.registry.caCert !== undefined) {
    workspaces.push({ name: WORKSPACES.registryCa, configMap: { name: REGISTRY_CA_CONFIGMAP } });
  }
  if (app.statusReporting.enabled) {
    // The GitLab token, only its key: the status tasks are the only ones binding it. Optional:
    // without the Secret (not created yet, a wrong name) the status step starts at once and
    // warns, instead of its pod waiting for the volume until the task's timeout.
    workspaces.push({
      name: WORKSPACES.statusToken,
      secret: {
        secretName: app.statusReporting.secretName,
        items: [{ key: STATUS_TOKEN_KEY, path: STATUS_TOKEN_KEY }],
        optional: true,
      },
    });
    if (ctx.gitlab?.caCert !== undefined) {
      workspaces.push({ name: WORKSPACES.gitlabCa, configMap: { name: GITLAB_CA_CONFIGMAP } });
    }
  }
  return workspaces;
}

/** Every build run's `taskRunTemplate` (a push's, a merge request's). */
export function runTaskRunTemplate(): PipelineRunTemplate["spec"]["taskRunTemplate"] {
  return {
    // Run-wide, so it lists no Secrets (components/app/appCredentials.ts): credentials come in
    // as the workspaces, never through credential init.
    serviceAccountName: BUILD_SERVICE_ACCOUNT,
    // The git steps run as a non-root user: the group makes a freshly provisioned source
    // volume (root-owned on most provisioners) writable for them.
    podTemplate: { securityContext: { fsGroup: BUILD_FS_GROUP } },
  };
}

/** The PipelineRun one push creates, with `$(tt.params.*)` still unresolved. */
export function pipelineRunTemplate(app: AppConfig, ctx: TriggerContext): PipelineRunTemplate {
  const tt = (name: string) => `$(tt.params.${name})`;
  // The build task alone runs as tekton-build-push, the cancel task alone as tekton-cancel.
  const taskRunSpecs = [...buildTaskRunSpecs(ctx.registry), ...cancelTaskRunSpecs(app)];
  return {
    apiVersion: "tekton.dev/v1",
    kind: "PipelineRun",
    metadata: {
      generateName: `${pipelineName(app)}-`,
      labels: {
        ...appLabels(app),
        // Hex only (the filter checks it) and at most 40 characters (the overlay cuts it).
        [RUN_METADATA.commitLabel]: tt(TRIGGER_PARAMS.commitLabel),
        // The filter admits only pushes to this branch, so its label is known here.
        [RUN_METADATA.branchLabel]: labelValue(app.branch),
        // The branch exactly, hashed: the cancel task selects its branch's runs by it. Tekton
        // copies a run's labels to its TaskRuns and pods (pipeline v1.15.0
        // pkg/reconciler/pipelinerun/pipelinerun.go `createChildResourceLabels`).
        ...cancelRunLabels(app),
      },
      annotations: {
        [RUN_METADATA.branchAnnotation]: app.branch,
        [RUN_METADATA.refAnnotation]: tt(TRIGGER_PARAMS.ref),
        [RUN_METADATA.projectAnnotation]: tt(TRIGGER_PARAMS.projectPath),
      },
    },
    spec: {
      pipelineRef: { name: pipelineName(app) },
      params: [
        { name: PIPELINE_PARAMS.sourceUrl, value: sshCloneUrl(ctx.gitSsh, app.sourceProject) },
        { name: PIPELINE_PARAMS.revision, value: tt(TRIGGER_PARAMS.revision) },
        {
          name: PIPELINE_PARAMS.operationsUrl,
          value: sshCloneUrl(ctx.gitSsh, app.operationsProject),
        },
      ],
      workspaces: pipelineRunWorkspaces(app, ctx),
      taskRunTemplate: runTaskRunTemplate(),
      ...(taskRunSpecs.length > 0 ? { taskRunSpecs } : {}),
      // With status reporting, a `finally` share so a run out of time still reports.
      timeouts: runTimeouts(app),
    },
  };
}

export function triggerTemplate(app: AppConfig, ctx: TriggerContext): TriggerTemplate {
  return {
    apiVersion: "triggers.tekton.dev/v1beta1",
    kind: "TriggerTemplate",
    metadata: {
      name: triggerNames(app).template,
      namespace: app.namespace,
      labels: appLabels(app),
    },
    spec: {
      params: [
        { name: TRIGGER_PARAMS.revision, description: "The pushed commit (checkout_sha)" },
        { name: TRIGGER_PARAMS.ref, description: "The pushed ref, refs/heads/<branch>" },
        { name: TRIGGER_PARAMS.projectPath, description: "The GitLab project path of the push" },
        {
          name: TRIGGER_PARAMS.commitLabel,
          description: "The pushed commit as a label value (at most 40 characters)",
        },
      ],
      resourcetemplates: [pipelineRunTemplate(app, ctx)],
    },
  };
}

/**
 * The first interceptor's filter on the shared listener: this app's project, then the branch
 * push (pushFilter). Every push reaches every app's Trigger (Triggers v0.37.0
 * pkg/sink/sink.go `HandleEvent` runs `processTrigger` for each Trigger `selectTriggers`
 * returns), so this cheap comparison comes first and the token check second: a push costs one
 * CEL evaluation per app, but one token check (one Secret read) in total.
 */
export function appFilter(
  app: Pick<AppConfig, "sourceProject" | "branch"> & Partial<Pick<AppConfig, "mergeRequests">>,
): string {
  return [
    `body.project.path_with_namespace == ${celStringLiteral(app.sourceProject)}`,
    // With merge request builds the hook also delivers merge request and comment events of
    // this project: asking the kind makes the filter plainly false for them, where the missing
    // `ref` would be a CEL error the listener logs for each (cel-go's && is false when one side
    // is). Only then, so an app without them keeps its Trigger as it was.
    ...(app.mergeRequests?.build ? ["body.object_kind == 'push'"] : []),
    pushFilter(app.branch),
  ].join(" && ");
}

/** Names of the interceptors of an app's Trigger, in the order Triggers runs them. */
export const INTERCEPTOR_NAMES = {
  filter: "only-this-project-and-branch",
  token: "verify-gitlab-token",
} as const;

/**
 * The app's Trigger (triggers.tekton.dev/v1beta1), in its build namespace, picked up by the
 * shared listener's namespaceSelector + labelSelector. Triggers v0.37.0 runs its interceptors in
 * order and stops at the first that does not continue (pkg/sink/sink.go `ExecuteInterceptors`:
 * `if !interceptorResponse.Continue { return ... }`), so:
 *  1. CEL: this project, this branch, a full commit id (and the commit-label overlay);
 *  2. gitlab: X-Gitlab-Event is a push and X-Gitlab-Token equals this app's Secret. The gitlab
 *     interceptor reads `secretRef` in the namespace of the Trigger it runs for
 *     (pkg/interceptors/gitlab/gitlab.go `Process`: `ParseTriggerID(r.Context.TriggerID)`, the
 *     id being `namespaces/<trigger ns>/triggers/<name>`, sink.go `ExecuteTriggerInterceptors`),
 *     so each app's token stays in the app's namespace, read by the core interceptors, never by
 *     the listener.
 * The PipelineRun template has no namespace: the sink creates it in the Trigger's namespace
 * (sink.go `processTrigger` -> `CreateResources(t.Namespace, ...)` -> pkg/resources/create.go
 * `Create`, which defaults an empty namespace to the one it is given).
 */
export function appTrigger(app: AppConfig, listener: Pick<ListenerConfig, "namespace">): Trigger {
  const names = triggerNames(app);
  return gitlabTrigger(app, listener, {
    name: names.trigger,
    filterName: INTERCEPTOR_NAMES.filter,
    filter: appFilter(app),
    overlays: [COMMIT_LABEL_OVERLAY],
    eventType: PUSH_EVENT_TYPE,
    binding: names.binding,
    template: names.template,
  });
}

/** What tells one of an app's Triggers from another (appTrigger's, a merge request's). */
export interface GitLabTriggerSpec {
  name: string;
  /** The CEL interceptor's name. */
  filterName: string;
  filter: string;
  overlays: { key: string; expression: string }[];
  /** The one `X-Gitlab-Event` the token check lets through. */
  eventType: string;
  binding: string;
  template: string;
}

/** An app's Trigger: CEL `filter` first, then the gitlab interceptor with the app's token. */
export function gitlabTrigger(
  app: AppConfig,
  listener: Pick<ListenerConfig, "namespace">,
  trigger: GitLabTriggerSpec,
): Trigger {
  return {
    apiVersion: "triggers.tekton.dev/v1beta1",
    kind: "Trigger",
    metadata: {
      name: trigger.name,
      namespace: app.namespace,
      labels: { ...appLabels(app), [LISTENER_LABEL]: listener.namespace },
    },
    spec: {
      interceptors: [
        {
          name: trigger.filterName,
          ref: { name: "cel", kind: "ClusterInterceptor" },
          params: [
            { name: "filter", value: trigger.filter },
            { name: "overlays", value: trigger.overlays },
          ],
        },
        {
          // Rejects deliveries whose X-Gitlab-Token differs from this app's Secret (byte for
          // byte) and every event but `eventType`.
          name: INTERCEPTOR_NAMES.token,
          ref: { name: "gitlab", kind: "ClusterInterceptor" },
          params: [
            {
              name: "secretRef",
              value: { secretName: triggerNames(app).webhookSecret, secretKey: WEBHOOK_TOKEN_KEY },
            },
            { name: "eventTypes", value: [trigger.eventType] },
          ],
        },
      ],
      bindings: [{ ref: trigger.binding, kind: "TriggerBinding" }],
      template: { ref: trigger.template },
    },
  };
}

/**
 * The one EventListener of the stack, in its own namespace. It selects the apps' Triggers by
 * namespace and label (Triggers v0.37.0 pkg/sink/sink.go `selectTriggers`: for each name in
 * `namespaceSelector.matchNames`, `TriggerLister.Triggers(ns).List(labelSelector)`); a label of
 * its own so it never picks up a Trigger it does not own. Apps are listed by name, not `*`, so
 * the listener never considers a Trigger outside this stack's namespaces.
 */
export function sharedEventListener(
  listener: Pick<ListenerConfig, "namespace">,
  apps: Pick<AppConfig, "namespace">[],
): EventListener {
  const names = listenerNames(listener);
  return {
    apiVersion: "triggers.tekton.dev/v1beta1",
    kind: "EventListener",
    metadata: { name: names.listener, namespace: listener.namespace, labels: listenerLabels() },
    spec: {
      serviceAccountName: names.serviceAccount,
      namespaceSelector: { matchNames: [...new Set(apps.map((app) => app.namespace))].sort() },
      labelSelector: { matchLabels: { [LISTENER_LABEL]: listener.namespace } },
    },
  };
}

/** Labels on the shared listener's objects (part of no single app). */
export function listenerLabels(): Record<string, string> {
  return {
    "app.kubernetes.io/managed-by": "tekton-gitlab",
    "app.kubernetes.io/part-of": "listener",
  };
}

export function listenerServiceAccount(
  listener: Pick<ListenerConfig, "namespace">,
): ServiceAccountManifest {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: {
      name: listenerNames(listener).serviceAccount,
      namespace: listener.namespace,
      labels: listenerLabels(),
    },
  };
}

function listenerSubject(listener: Pick<ListenerConfig, "namespace">) {
  return {
    kind: "ServiceAccount" as const,
    name: listenerNames(listener).serviceAccount,
    namespace: listener.namespace,
  };
}

const RBAC_API = "rbac.authorization.k8s.io";
const READ = ["get", "list", "watch"];

/**
 * What the shared listener reads cluster-wide, and nothing else: Triggers' own objects, no
 * Secret, no core object. With `namespaceSelector.matchNames` set, the sink runs with
 * `--is-multi-ns=true` (Triggers v0.37.0 pkg/reconciler/eventlistener/resources/container.go
 * `MakeContainer`), and cmd/eventlistenersink/main.go then skips `injection.WithNamespaceScope`:
 * every informer pkg/adapter/adapter.go starts (EventListeners, Triggers, TriggerBindings,
 * TriggerTemplates, Interceptors, ClusterTriggerBindings, ClusterInterceptors) lists and
 * watches across all namespaces, which RBAC grants only through a ClusterRole bound cluster-wide
 * (a RoleBinding per app namespace would leave the informers failing to list). These are
 * configuration objects, not credentials: the webhook tokens are read by the gitlab
 * ClusterInterceptor (core-interceptors ServiceAccount). One per stack.
 */
export function listenerClusterRole(name: string = LISTENER_CLUSTER_ROLE): ClusterRoleManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "ClusterRole",
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "tekton-gitlab" } },
    rules: [
      {
        apiGroups: ["triggers.tekton.dev"],
        resources: [
          "clustertriggerbindings",
          "clusterinterceptors",
          "eventlisteners",
          "triggers",
          "triggerbindings",
          "triggertemplates",
          "interceptors",
        ],
        verbs: [...READ],
      },
    ],
  };
}

/**
 * What the listener does in its own namespace: Triggers' `tekton-triggers-eventlistener-roles`
 * (v0.37.0 config/200-clusterrole.yaml) reduced to events (the sink's recorder,
 * pkg/adapter/adapter.go, records on the EventListener, which lives here). No ConfigMaps: the
 * sink (cmd/eventlistenersink/main.go) starts only the informers its imports register, Triggers'
 * own kinds (pkg/adapter/adapter.go), and runs knative eventing's adapter main
 * (vendor/knative.dev/eventing/pkg/adapter/v2/main.go `MainWithInformers`) without
 * `WithConfigWatcherEnabled` or `WithConfiguratorOptions`: no ConfigMap watcher, no trust-bundle
 * ConfigMap informer, and the environment configurators (`newConfigurator`), which read logging
 * and observability from K_LOGGING_CONFIG / K_OBSERVABILITY_CONFIG. Triggers' controller sets
 * those on the listener's container from its own ConfigMaps
 * (pkg/reconciler/eventlistener/resources/container.go `MakeContainer`, `configAcc.ToEnvVars()`).
 * No `impersonate` (pkg/sink/auth_override.go, only for a Trigger with `serviceAccountName`) and
 * no PipelineRuns here: builds are created in the app namespaces only (appPipelineRunRole).
 */
export function listenerRole(listener: Pick<ListenerConfig, "namespace">): RoleManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "Role",
    metadata: {
      name: listenerNames(listener).role,
      namespace: listener.namespace,
      labels: listenerLabels(),
    },
    rules: [{ apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] }],
  };
}

/** Binds listenerRole to the shared listener, in its namespace only. */
export function listenerRoleBinding(
  listener: Pick<ListenerConfig, "namespace">,
): RoleBindingManifest {
  const names = listenerNames(listener);
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "RoleBinding",
    metadata: { name: names.roleBinding, namespace: listener.namespace, labels: listenerLabels() },
    roleRef: { apiGroup: RBAC_API, kind: "Role", name: names.role },
    subjects: [listenerSubject(listener)],
  };
}

/** Binds the stack's listener ClusterRole (listenerClusterRole) to the shared listener. */
export function listenerClusterRoleBinding(
  listener: Pick<ListenerConfig, "namespace">,
  clusterRole: string = LISTENER_CLUSTER_ROLE,
): ClusterRoleBindingManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name: listenerNames(listener).clusterRoleBinding, labels: listenerLabels() },
    roleRef: { apiGroup: RBAC_API, kind: "ClusterRole", name: clusterRole },
    subjects: [listenerSubject(listener)],
  };
}

/**
 * In each app namespace: the shared listener may create PipelineRuns there, nothing else (the
 * sink's only write, pkg/resources/create.go `Create`; the template creates one PipelineRun).
 * Its reads of the app's Trigger, binding and template come from the ClusterRole above.
 */
export function appPipelineRunRole(app: AppConfig): RoleManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "Role",
    metadata: { name: triggerNames(app).role, namespace: app.namespace, labels: appLabels(app) },
    rules: [{ apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["create"] }],
  };
}

/** Binds appPipelineRunRole to the shared listener's ServiceAccount, in the app namespace. */
export function appPipelineRunRoleBinding(
  app: AppConfig,
  listener: Pick<ListenerConfig, "namespace">,
): RoleBindingManifest {
  const names = triggerNames(app);
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "RoleBinding",
    metadata: { name: names.roleBinding, namespace: app.namespace, labels: appLabels(app) },
    roleRef: { apiGroup: RBAC_API, kind: "Role", name: names.role },
    subjects: [listenerSubject(listener)],
  };
}

/** The one Ingress: `listener.host`, path `/`, to the shared listener's `el-` Service. */
export function webhookIngress(listener: SharedListenerConfig): IngressManifest {
  const names = listenerNames(listener);
  const { className, tlsSecretName, useControllerDefaultCertificate, annotations } =
    listener.ingress;
  // TLS from the named Secret, or (explicit opt-in) the controller's default certificate for
  // this host; none when the config says the webhook is plain http.
  const tls =
    tlsSecretName !== undefined
      ? [{ hosts: [listener.host], secretName: tlsSecretName }]
      : useControllerDefaultCertificate && listener.webhook.tls
        ? [{ hosts: [listener.host] }]
        : undefined;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: names.ingress,
      namespace: listener.namespace,
      labels: listenerLabels(),
      ...(annotations === undefined ? {} : { annotations: { ...annotations } }),
    },
    spec: {
      ...(className === undefined ? {} : { ingressClassName: className }),
      ...(tls === undefined ? {} : { tls }),
      rules: [
        {
          host: listener.host,
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: {
                  service: { name: names.service, port: { number: EVENT_LISTENER_PORT } },
                },
              },
            ],
          },
        },
      ],
    },
  };
}

/** An app's trigger objects in its namespace, except the webhook Secret (its token is secret). */
export function triggerObjects(
  app: AppConfig,
  ctx: TriggerContext,
  listener: Pick<ListenerConfig, "namespace"> = { namespace: DEFAULT_LISTENER_NAMESPACE },
): TriggerObjects {
  return {
    binding: triggerBinding(app),
    template: triggerTemplate(app, ctx),
    trigger: appTrigger(app, listener),
    role: appPipelineRunRole(app),
    roleBinding: appPipelineRunRoleBinding(app, listener),
  };
}

/** The shared listener's objects. */
export function listenerObjects(
  listener: SharedListenerConfig,
  apps: AppConfig[],
  clusterRole?: string,
): ListenerObjects {
  return {
    listener: sharedEventListener(listener, apps),
    serviceAccount: listenerServiceAccount(listener),
    role: listenerRole(listener),
    roleBinding: listenerRoleBinding(listener),
    clusterRoleBinding: listenerClusterRoleBinding(listener, clusterRole),
    ingress: webhookIngress(listener),
  };
}

/** The Tekton Triggers objects of an app, for `npm run render` and tekton-lint. */
export function triggerManifests(
  app: AppConfig,
  ctx: TriggerContext,
  listener?: Pick<ListenerConfig, "namespace">,
): [TriggerBinding, TriggerTemplate, Trigger] {
  const objects = triggerObjects(app, ctx, listener);
  return [objects.binding, objects.template, objects.trigger];
}
