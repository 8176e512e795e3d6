// What an app's GitLab trigger looks like: pure builders returning plain manifests, so they can
// be tested and rendered without Pulumi. components/gitlabTrigger.ts deploys them.
import { AppConfig, GitSshConfig, ImagesConfig, RegistryConfig } from "../config/schema";
import {
  appLabels,
  BUILD_SERVICE_ACCOUNT,
  GIT_PULL_SECRET,
  GIT_WRITE_SECRET,
  PIPELINE_PARAMS,
  pipelineName,
  REGISTRY_CA_CONFIGMAP,
  REGISTRY_SECRET,
  sshCloneUrl,
  WORKSPACES,
} from "./names";
import {
  ClusterRoleBindingManifest,
  ClusterRoleManifest,
  EventListener,
  IngressManifest,
  PipelineRunTemplate,
  RoleBindingManifest,
  RoleManifest,
  ServiceAccountManifest,
  TriggerBinding,
  TriggerObjects,
  TriggerTemplate,
  WorkspaceBinding,
} from "./triggerTypes";
import { BUILD_FS_GROUP, buildTaskRunSpecs } from "./tasks";

/** What the trigger needs from the stack config (the same shape as the pipeline's context). */
export interface TriggerContext {
  gitSsh: GitSshConfig;
  registry: RegistryConfig;
  images?: ImagesConfig;
  /** Name of the stack's listener ClusterRole (default LISTENER_CLUSTER_ROLE). */
  listenerClusterRole?: string;
}

/** Key of the webhook token in the app's webhook Secret. */
export const WEBHOOK_TOKEN_KEY = "token";
/** Port of the `el-<listener>` Service Triggers creates for an EventListener. */
export const EVENT_LISTENER_PORT = 8080;
/** The GitLab event header value of a branch push (`X-Gitlab-Event`). */
export const PUSH_EVENT_TYPE = "Push Hook";
/**
 * Default name of the stack's ClusterRole for its listeners (components/listenerClusterRole.ts
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

/** Labels and annotations on the PipelineRuns a push creates. */
export const RUN_METADATA = {
  commitLabel: "tekton-gitlab.io/commit",
  branchLabel: "tekton-gitlab.io/branch",
  branchAnnotation: "tekton-gitlab.io/branch",
  refAnnotation: "tekton-gitlab.io/ref",
  projectAnnotation: "tekton-gitlab.io/project",
} as const;

/** Names of an app's trigger objects (all in the app's build namespace but the ClusterRoleBinding). */
export function triggerNames(app: Pick<AppConfig, "name" | "namespace">) {
  const listener = `${app.name}-listener`;
  return {
    binding: `${app.name}-push`,
    template: `${app.name}-pipelinerun`,
    listener,
    /** The Service Triggers creates for the listener. */
    service: `el-${listener}`,
    serviceAccount: `${app.name}-listener`,
    role: `${app.name}-listener`,
    roleBinding: `${app.name}-listener`,
    // Cluster-scoped: the namespace keeps two stacks' apps of the same name apart.
    clusterRoleBinding: `tekton-gitlab-${app.namespace}-${app.name}-listener`,
    webhookSecret: `${app.name}-webhook`,
    ingress: `${app.name}-webhook`,
  };
}

/** The URL GitLab posts pushes to; plain http only when the config says TLS is off. */
export function webhookUrl(app: Pick<AppConfig, "webhookHost" | "webhook">): string {
  const scheme = app.webhook.tls === false ? "http" : "https";
  return `${scheme}://${app.webhookHost}/`;
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
  if (ctx.registry.username !== undefined) {
    workspaces.push({
      name: WORKSPACES.dockerConfig,
      // Kaniko reads `config.json`; a kubernetes.io/dockerconfigjson Secret names it otherwise.
      secret: {
        secretName: REGISTRY_SECRET,
        items: [{ key: ".dockerconfigjson", path: "config.json" }],
      },
    });
  }
  if (ctx.registry.caCert !== undefined) {
    workspaces.push({ name: WORKSPACES.registryCa, configMap: { name: REGISTRY_CA_CONFIGMAP } });
  }
  return workspaces;
}

/** The PipelineRun one push creates, with `$(tt.params.*)` still unresolved. */
export function pipelineRunTemplate(app: AppConfig, ctx: TriggerContext): PipelineRunTemplate {
  const tt = (name: string) => `$(tt.params.${name})`;
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
      taskRunTemplate: {
        // Run-wide, so it lists no Secrets (components/appCredentials.ts): credentials come in
        // as the workspaces above, never through credential init.
        serviceAccountName: BUILD_SERVICE_ACCOUNT,
        // The git steps run as a non-root user: the group makes a freshly provisioned source
        // volume (root-owned on most provisioners) writable for them.
        podTemplate: { securityContext: { fsGroup: BUILD_FS_GROUP } },
      },
      // The build task alone runs as tekton-build-push (tekton/tasks.ts buildTaskRunSpecs).
      ...(buildTaskRunSpecs(ctx.registry).length > 0
        ? { taskRunSpecs: buildTaskRunSpecs(ctx.registry) }
        : {}),
      timeouts: { pipeline: app.pipelineRun.timeout },
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

export function eventListener(app: AppConfig): EventListener {
  const names = triggerNames(app);
  return {
    apiVersion: "triggers.tekton.dev/v1beta1",
    kind: "EventListener",
    metadata: { name: names.listener, namespace: app.namespace, labels: appLabels(app) },
    spec: {
      serviceAccountName: names.serviceAccount,
      triggers: [
        {
          name: "gitlab-push",
          interceptors: [
            {
              // Rejects deliveries whose X-Gitlab-Token differs from the Secret (byte for byte)
              // and every event but a branch push, before anything reads the body.
              name: "verify-gitlab-token",
              ref: { name: "gitlab", kind: "ClusterInterceptor" },
              params: [
                {
                  name: "secretRef",
                  value: { secretName: names.webhookSecret, secretKey: WEBHOOK_TOKEN_KEY },
                },
                { name: "eventTypes", value: [PUSH_EVENT_TYPE] },
              ],
            },
            {
              name: "only-configured-branch",
              ref: { name: "cel", kind: "ClusterInterceptor" },
              params: [
                { name: "filter", value: pushFilter(app.branch) },
                { name: "overlays", value: [COMMIT_LABEL_OVERLAY] },
              ],
            },
          ],
          bindings: [{ ref: names.binding, kind: "TriggerBinding" }],
          template: { ref: names.template },
        },
      ],
    },
  };
}

export function listenerServiceAccount(app: AppConfig): ServiceAccountManifest {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: {
      name: triggerNames(app).serviceAccount,
      namespace: app.namespace,
      labels: appLabels(app),
    },
  };
}

function listenerSubject(app: AppConfig) {
  return {
    kind: "ServiceAccount" as const,
    name: triggerNames(app).serviceAccount,
    namespace: app.namespace,
  };
}

const RBAC_API = "rbac.authorization.k8s.io";
const READ = ["get", "list", "watch"];

/**
 * What an EventListener reads cluster-wide, and nothing else. Triggers v0.37.0
 * pkg/adapter/adapter.go (`sinker.Start`, `getCertFromInterceptor`) lists ClusterTriggerBindings
 * and ClusterInterceptors through informers; every other informer (EventListeners, Triggers,
 * TriggerBindings, TriggerTemplates, Interceptors) is namespace-scoped
 * (cmd/eventlistenersink/main.go: `injection.WithNamespaceScope` unless the listener selects
 * other namespaces, which ours does not). The listener reads no Secret: the webhook token is
 * read by the gitlab ClusterInterceptor (pkg/interceptors/gitlab) as the core-interceptors
 * ServiceAccount, and the interceptors' CA comes from the ClusterInterceptor's caBundle.
 * One per stack, shared by all its apps.
 */
export function listenerClusterRole(name: string = LISTENER_CLUSTER_ROLE): ClusterRoleManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "ClusterRole",
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "tekton-gitlab" } },
    rules: [
      {
        apiGroups: ["triggers.tekton.dev"],
        resources: ["clustertriggerbindings", "clusterinterceptors"],
        verbs: [...READ],
      },
    ],
  };
}

/**
 * What the listener does in its own namespace: Triggers' `tekton-triggers-eventlistener-roles`
 * (v0.37.0 config/200-clusterrole.yaml) without what this stack never uses: `impersonate` on
 * ServiceAccounts (pkg/sink/auth_override.go, only for a Trigger with `serviceAccountName`, and
 * it would let the listener act as the build ServiceAccount) and creating TaskRuns and
 * PipelineResources (the template creates only a PipelineRun). ConfigMaps: kept as Triggers
 * grants them (the knative adapter framework the sink runs in may read its config ConfigMaps;
 * not traced further); events: pkg/adapter/adapter.go's event recorder.
 */
export function listenerRole(app: AppConfig): RoleManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "Role",
    metadata: { name: triggerNames(app).role, namespace: app.namespace, labels: appLabels(app) },
    rules: [
      {
        apiGroups: ["triggers.tekton.dev"],
        resources: [
          "eventlisteners",
          "triggerbindings",
          "interceptors",
          "triggertemplates",
          "triggers",
        ],
        verbs: [...READ],
      },
      { apiGroups: [""], resources: ["configmaps"], verbs: [...READ] },
      { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["create"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
    ],
  };
}

/** Binds listenerRole to the listener, in the app namespace only. */
export function listenerRoleBinding(app: AppConfig): RoleBindingManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "RoleBinding",
    metadata: {
      name: triggerNames(app).roleBinding,
      namespace: app.namespace,
      labels: appLabels(app),
    },
    roleRef: { apiGroup: RBAC_API, kind: "Role", name: triggerNames(app).role },
    subjects: [listenerSubject(app)],
  };
}

/** Binds the stack's listener ClusterRole (listenerClusterRole) to the app's listener. */
export function listenerClusterRoleBinding(
  app: AppConfig,
  clusterRole: string = LISTENER_CLUSTER_ROLE,
): ClusterRoleBindingManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name: triggerNames(app).clusterRoleBinding, labels: appLabels(app) },
    roleRef: { apiGroup: RBAC_API, kind: "ClusterRole", name: clusterRole },
    subjects: [listenerSubject(app)],
  };
}

export function webhookIngress(app: AppConfig): IngressManifest {
  const names = triggerNames(app);
  const { className, tlsSecretName, useControllerDefaultCertificate, annotations } = app.ingress;
  // A tls entry without secretName: the Ingress API leaves the certificate to the controller's
  // default (networking.k8s.io/v1 IngressTLS.secretName is optional).
  const tls =
    tlsSecretName !== undefined
      ? [{ hosts: [app.webhookHost], secretName: tlsSecretName }]
      : useControllerDefaultCertificate && app.webhook.tls
        ? [{ hosts: [app.webhookHost] }]
        : undefined;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: names.ingress,
      namespace: app.namespace,
      labels: appLabels(app),
      ...(annotations === undefined ? {} : { annotations: { ...annotations } }),
    },
    spec: {
      ...(className === undefined ? {} : { ingressClassName: className }),
      ...(tls === undefined ? {} : { tls }),
      rules: [
        {
          host: app.webhookHost,
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

/** Every object of an app's trigger except the webhook Secret (its token is not plain data). */
export function triggerObjects(app: AppConfig, ctx: TriggerContext): TriggerObjects {
  return {
    binding: triggerBinding(app),
    template: triggerTemplate(app, ctx),
    listener: eventListener(app),
    serviceAccount: listenerServiceAccount(app),
    role: listenerRole(app),
    roleBinding: listenerRoleBinding(app),
    clusterRoleBinding: listenerClusterRoleBinding(app, ctx.listenerClusterRole),
    ingress: webhookIngress(app),
  };
}

/** The Tekton Triggers objects of an app, for `npm run render` and tekton-lint. */
export function triggerManifests(
  app: AppConfig,
  ctx: TriggerContext,
): [TriggerBinding, TriggerTemplate, EventListener] {
  const objects = triggerObjects(app, ctx);
  return [objects.binding, objects.template, objects.listener];
}
