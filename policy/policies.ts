// The guard rails this stack promises, as Pulumi resource policies. Pure: each policy looks only
// at the resource it is given, so it is unit-tested without the CLI (policy/index.ts serves them).
//
// Unknown values: during `pulumi preview` an input computed from another resource (a generated
// private key, say) is unknown, and reading it through the policy framework throws. Each policy
// reads such values through `known()` and skips what it cannot see yet; the same policy runs
// again at `pulumi up`, before the resource is created, when every value is known.
// Secret values arrive unwrapped (plain), so they are checked like any other value.
import {
  CHAINS_NAMESPACE,
  CHAINS_SIGNING_KEY,
  CHAINS_SIGNING_SECRET,
} from "../tekton/cluster/chains";
import {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { pinnedImageError } from "../config/validators";
import {
  INSECURE_GITLAB_ANNOTATION,
  INSECURE_REGISTRY_ANNOTATION,
  UNSIGNED_IMAGE_ANNOTATION,
  deployKeyResourceNames,
} from "../tekton/core/names";
import { UNKNOWN, known, isObject, knownItems, knownString } from "./values";

/** Pulumi name suffix of an app's source deploy key (the read-only one). */
export const SOURCE_DEPLOY_KEY_SUFFIX = deployKeyResourceNames({ name: "" }).source;

/** Flags that turn off TLS verification or TLS itself (Kaniko's, and kubectl's and curl's). */
export const INSECURE_REGISTRY_FLAGS = [
  "--skip-tls-verify",
  "--skip-tls-verify-pull",
  "--skip-tls-verify-registry",
  "--insecure",
  "--insecure-pull",
  "--insecure-registry",
  "--insecure-skip-tls-verify",
] as const;

// ---------------------------------------------------------------------------------------------
// Tekton objects: where their steps are

/** Matches `kubernetes:tekton.dev/v1:Task` and the other Tekton kinds, any API version. */
const TEKTON_TYPE = /^kubernetes:(tekton\.dev|triggers\.tekton\.dev)\/[^:]+:([A-Za-z]+)$/;

/** One container of a Tekton TaskSpec (a step or a sidecar), with what is needed to judge it. */
export interface TektonContainer {
  /** e.g. `spec.tasks[1].taskSpec.steps[0] "build"`, for violation messages. */
  where: string;
  container: Record<string, any>;
  /** The image a step inherits from `stepTemplate` when it names none. */
  templateImage?: string;
  /** The TaskSpec's params, to resolve an image given as `$(params.x)`. */
  params: any[];
  /** Annotations of the embedded task spec and of the object holding it. */
  annotations: Record<string, string>;
}

function annotationsOf(metadata: unknown): Record<string, string> {
  const annotations = known(() => (isObject(metadata) ? metadata.annotations : undefined));
  if (!isObject(annotations)) return {};
  const result: Record<string, string> = {};
  for (const key of Object.keys(annotations)) {
    const value = knownString(() => annotations[key]);
    if (value !== undefined) result[key] = value;
  }
  return result;
}

function containersOfTaskSpec(
  spec: unknown,
  where: string,
  inherited: Record<string, string>,
  specMetadata?: unknown,
): TektonContainer[] {
  if (!isObject(spec)) return [];
  const annotations = { ...inherited, ...annotationsOf(specMetadata) };
  const template = known(() => spec.stepTemplate);
  const templateImage = isObject(template) ? knownString(() => template.image) : undefined;
  const params = knownItems(() => spec.params);
  const found: TektonContainer[] = [];
  for (const field of ["steps", "sidecars"] as const) {
    knownItems(() => spec[field]).forEach((container, index) => {
      // A step with `ref` runs a StepAction: its image and script are checked on the StepAction.
      if (!isObject(container) || known(() => container.ref) !== undefined) return;
      const name = knownString(() => container.name);
      found.push({
        where: `${where}.${field}[${index}]${name ? ` "${name}"` : ""}`,
        container,
        templateImage: field === "steps" ? templateImage : undefined,
        params,
        annotations,
      });
    });
  }
  return found;
}

function containersOfPipelineSpec(
  spec: unknown,
  where: string,
  annotations: Record<string, string>,
): TektonContainer[] {
  if (!isObject(spec)) return [];
  const found: TektonContainer[] = [];
  for (const field of ["tasks", "finally"] as const) {
    knownItems(() => spec[field]).forEach((task, index) => {
      if (!isObject(task)) return;
      const taskSpec = known(() => task.taskSpec);
      if (!isObject(taskSpec)) return;
      found.push(
        ...containersOfTaskSpec(
          taskSpec,
          `${where}.${field}[${index}].taskSpec`,
          annotations,
          known(() => taskSpec.metadata),
        ),
      );
    });
  }
  return found;
}

/** The containers of a Tekton object of the given kind (a whole manifest: metadata, spec). */
function containersOfObject(kind: string, object: unknown, where: string): TektonContainer[] {
  if (!isObject(object)) return [];
  const annotations = annotationsOf(known(() => object.metadata));
  const spec = known(() => object.spec);
  if (!isObject(spec)) return [];
  switch (kind) {
    case "Task":
    case "ClusterTask":
      return containersOfTaskSpec(spec, `${where}spec`, annotations);
    case "TaskRun":
      return containersOfTaskSpec(
        known(() => spec.taskSpec),
        `${where}spec.taskSpec`,
        annotations,
      );
    case "StepAction":
      // A StepAction's spec is one step: image, script, env, params.
      return [
        {
          where: `${where}spec`,
          container: spec,
          params: knownItems(() => spec.params),
          annotations,
        },
      ];
    case "Pipeline":
      return containersOfPipelineSpec(spec, `${where}spec`, annotations);
    case "PipelineRun":
      return containersOfPipelineSpec(
        known(() => spec.pipelineSpec),
        `${where}spec.pipelineSpec`,
        annotations,
      );
    case "TriggerTemplate": {
      // The PipelineRuns (or TaskRuns) a trigger creates may embed their specs.
      const found: TektonContainer[] = [];
      knownItems(() => spec.resourcetemplates).forEach((template, index) => {
        const templateKind = isObject(template) ? knownString(() => template.kind) : undefined;
        if (templateKind === "PipelineRun" || templateKind === "TaskRun") {
          found.push(
            ...containersOfObject(templateKind, template, `spec.resourcetemplates[${index}].`),
          );
        }
      });
      return found;
    }
    default:
      return [];
  }
}

/** Every step and sidecar of a Tekton resource; empty for any other resource type. */
export function tektonContainers(args: Pick<ResourceValidationArgs, "type" | "props">) {
  const match = TEKTON_TYPE.exec(args.type);
  return match ? containersOfObject(match[2], args.props, "") : [];
}

// ---------------------------------------------------------------------------------------------
// Tekton policies

const PARAM_REFERENCE = /^\$\(params\.([A-Za-z0-9_.-]+)\)$/;

/** Judges one step's image; returns a violation text or undefined. */
function imageProblem(entry: TektonContainer): string | undefined {
  const own = known(() => entry.container.image);
  if (own === UNKNOWN) return undefined;
  const image = typeof own === "string" && own !== "" ? own : entry.templateImage;
  if (image === undefined) {
    return `${entry.where} has no image; name a pinned image (name:tag or name@sha256:...).`;
  }
  let shown = image;
  let resolved = image;
  const param = PARAM_REFERENCE.exec(image);
  if (param) {
    // The value comes from the run: it can be checked only as the param's default, and a run
    // may still override it, so a pinned default is the minimum.
    const declared = entry.params.find(
      (p) => isObject(p) && knownString(() => p.name) === param[1],
    );
    const fallback = declared ? known(() => declared.default) : undefined;
    if (fallback === UNKNOWN) return undefined;
    if (typeof fallback !== "string") {
      return `${entry.where} takes its image from param "${param[1]}" without a default; put the pinned image in the Task.`;
    }
    resolved = fallback;
    shown = `${image} (default ${fallback})`;
  }
  const error = pinnedImageError(resolved);
  return error ? `${entry.where} uses image ${shown}; expected ${error}.` : undefined;
}

export const pinnedStepImages: ResourceValidationPolicy = {
  name: "tekton-step-image-pinned",
  description:
    "Every Tekton step and sidecar image is pinned by tag or digest (no :latest, no bare name).",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    for (const entry of tektonContainers(args)) {
      const problem = imageProblem(entry);
      if (problem) reportViolation(problem);
    }
  },
};

/** The insecure flags a step passes, in args, command or script. */
export function insecureFlagsOf(container: Record<string, any>): string[] {
  const words: string[] = [];
  for (const field of ["command", "args"] as const) {
    for (const item of knownItems(() => container[field])) {
      if (typeof item === "string") words.push(item);
    }
  }
  const script = knownString(() => container.script);
  if (script) words.push(...script.split(/[\s;|&()'"`]+/));
  const found = new Set<string>();
  for (const word of words) {
    const [flag, value] = word.split("=", 2);
    if ((INSECURE_REGISTRY_FLAGS as readonly string[]).includes(flag) && value !== "false") {
      found.add(flag);
    }
  }
  return [...found];
}

export const noSkipTlsVerify: ResourceValidationPolicy = {
  name: "tekton-no-skip-tls-verify",
  description: `No step skips registry TLS verification (--skip-tls-verify, --insecure...) unless its Task is annotated ${INSECURE_REGISTRY_ANNOTATION}: "true" (registry.insecure in config), or, for the GitLab status step, ${INSECURE_GITLAB_ANNOTATION}: "true" (gitlab:insecure).`,
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    for (const entry of tektonContainers(args)) {
      if (entry.annotations[INSECURE_REGISTRY_ANNOTATION] === "true") continue;
      if (entry.annotations[INSECURE_GITLAB_ANNOTATION] === "true") continue;
      const flags = insecureFlagsOf(entry.container);
      if (flags.length > 0) {
        reportViolation(
          `${entry.where} passes ${flags.join(", ")} but the registry is not marked insecure; trust its CA (tekton-gitlab:registry.caCert) instead, or set tekton-gitlab:registry.insecure: true deliberately (annotation ${INSECURE_REGISTRY_ANNOTATION}: "true").`,
        );
      }
    }
  },
};

/** `$(params.x)`, `$(params["x"])`, `$(params['x'])`: Tekton substitutes all of them. */
const PARAM_IN_SCRIPT = /\$\(\s*params\s*[.[]/;

export const noParamsInScript: ResourceValidationPolicy = {
  name: "tekton-no-params-in-script",
  description:
    "No step script contains $(params...): Tekton pastes the value into the shell code; pass params through env instead.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    for (const entry of tektonContainers(args)) {
      const script = knownString(() => entry.container.script);
      if (script !== undefined && PARAM_IN_SCRIPT.test(script)) {
        reportViolation(
          `${entry.where} has $(params...) inside its script: a crafted value becomes shell code. Map the param to an env variable (env: [{name: X, value: "$(params.x)"}]) and use "$X" in the script.`,
        );
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// GitLab deploy keys

/** Our dynamic DeployKey (with or without the dynamic/ module prefix) and @pulumi/gitlab's. */
export function isDeployKeyType(type: string): boolean {
  return (
    /^pulumi-nodejs:[^:]*:DeployKey$/.test(type) || type === "gitlab:index/deployKey:DeployKey"
  );
}

export const readOnlySourceDeployKeys: ResourceValidationPolicy = {
  name: "source-deploy-key-read-only",
  description: `Deploy keys on source projects (Pulumi names ending in ${SOURCE_DEPLOY_KEY_SUFFIX}) cannot push.`,
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (!isDeployKeyType(args.type) || !args.name.endsWith(SOURCE_DEPLOY_KEY_SUFFIX)) return;
    const canPush = known(() => args.props.canPush);
    if (canPush === true || canPush === "true") {
      const project = knownString(() => args.props.project);
      reportViolation(
        `Deploy key ${args.name}${project ? ` on ${project}` : ""} has canPush: true; the build only clones the source project, so its key must be read-only.`,
      );
    }
  },
};

// ---------------------------------------------------------------------------------------------
// RBAC
//
// A binding is judged by the rules of the role it grants. A resource policy sees one resource,
// so the roles' rules are checked where they are known: the stack's own Roles and ClusterRoles
// (rbac-role-no-secrets, before they are created), well-known roles by name (the deny-list
// below, before a binding to them is created), and every binding against the roles defined in
// the same stack, Tekton's release included (rbac-binding-roles-in-stack, a stack policy).

const CLUSTER_ROLE_BINDING = /^kubernetes:rbac\.authorization\.k8s\.io\/[^:]+:ClusterRoleBinding$/;
const ROLE_BINDING = /^kubernetes:rbac\.authorization\.k8s\.io\/[^:]+:(Cluster)?RoleBinding$/;
const ROLE = /^kubernetes:rbac\.authorization\.k8s\.io\/[^:]+:(Cluster)?Role$/;

/**
 * Roles known to grant Secrets (or everything), refused in any binding of this stack whether or
 * not the role is in the stack. Kubernetes' user-facing `cluster-admin`, `admin`, `edit`;
 * Triggers v0.37.0 config/200-clusterrole.yaml's `tekton-triggers-eventlistener-clusterroles`
 * (`secrets: get, list, watch` cluster-wide) and the core interceptors' roles; Pipelines v1.15.0
 * config/200-clusterrole.yaml's `tekton-pipelines-controller-tenant-access` (secrets).
 */
export const SECRET_GRANTING_ROLES = [
  "cluster-admin",
  "admin",
  "edit",
  "tekton-triggers-eventlistener-clusterroles",
  "tekton-triggers-core-interceptors",
  "tekton-triggers-core-interceptors-secrets",
  "tekton-pipelines-controller-tenant-access",
] as const;

/**
 * Type token of the component that applies Tekton's own release manifests. Those ship their
 * controllers' ClusterRoleBindings; they are pinned upstream releases, not this stack's RBAC.
 */
export const TEKTON_INSTALL_TYPE = "tekton-gitlab:cluster:TektonInstall";

/** True for resources applied from Tekton's release manifests (children of TektonInstall). */
export function isTektonReleaseResource(urn: string): boolean {
  // urn:pulumi:<stack>::<project>::<parent type>$...$<type>::<name>
  const typeChain = urn.split("::")[2] ?? "";
  return typeChain.split("$").slice(0, -1).includes(TEKTON_INSTALL_TYPE);
}

/**
 * What a list of RBAC rules grants that a listener or build must never hold: access to Secrets
 * (core API group, or any group through `*`), or a `*` in groups, resources or verbs. Unknown
 * values (preview) are skipped; the policy runs again with them known before creation.
 */
export function dangerousGrants(rules: unknown): string[] {
  const found: string[] = [];
  knownItems(() => rules).forEach((rule, index) => {
    if (!isObject(rule)) return;
    const list = (field: string) =>
      knownItems(() => rule[field]).filter((item): item is string => typeof item === "string");
    const groups = list("apiGroups");
    const resources = list("resources");
    const verbs = list("verbs");
    const where = `rules[${index}]`;
    for (const [field, items] of [
      ["apiGroups", groups],
      ["resources", resources],
      ["verbs", verbs],
    ] as const) {
      if (items.includes("*")) found.push(`${where}.${field} "*"`);
    }
    const secrets = resources.some((r) => r === "secrets" || r.startsWith("secrets/"));
    if (secrets && (groups.includes("") || groups.includes("*"))) {
      found.push(`${where} secrets (${verbs.join(", ")})`);
    }
  });
  return found;
}

function roleRefOf(props: Record<string, any>): { kind?: string; name?: string } | undefined {
  const roleRef = known(() => props.roleRef);
  if (roleRef === UNKNOWN) return undefined;
  return {
    kind: isObject(roleRef) ? knownString(() => roleRef.kind) : undefined,
    name: isObject(roleRef) ? knownString(() => roleRef.name) : undefined,
  };
}

export const rbacRolesNoSecrets: ResourceValidationPolicy = {
  name: "rbac-role-no-secrets",
  description:
    "The stack's own Roles and ClusterRoles grant no Secrets and no '*' (Tekton's release manifests excepted).",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (!ROLE.test(args.type) || isTektonReleaseResource(args.urn)) return;
    const grants = dangerousGrants(known(() => args.props.rules));
    if (grants.length > 0) {
      reportViolation(
        `${args.type.split(":").pop()} ${args.name} grants ${grants.join("; ")}; the stack's roles must grant no Secrets and no '*'.`,
      );
    }
  },
};

const READ_VERBS = ["get", "list", "watch"];

/**
 * The shared listener (tekton/listener/triggers.ts) holds a ClusterRole because its multi-namespace
 * informers list Triggers' objects cluster-wide; everything it writes (PipelineRuns) is granted
 * by a Role in each app namespace. A cluster-wide write would let a compromised listener create
 * runs (which mount an app's keys) in any namespace, so the stack's ClusterRoles only read.
 */
export const rbacClusterRolesReadOnly: ResourceValidationPolicy = {
  name: "rbac-cluster-role-read-only",
  description:
    "The stack's own ClusterRoles only read (get, list, watch); writes such as creating PipelineRuns are granted per app namespace by a Role (Tekton's release manifests excepted).",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (!/^kubernetes:rbac\.authorization\.k8s\.io\/[^:]+:ClusterRole$/.test(args.type)) return;
    if (isTektonReleaseResource(args.urn)) return;
    const writes: string[] = [];
    knownItems(() => args.props.rules).forEach((rule, index) => {
      if (!isObject(rule)) return;
      const verbs = knownItems(() => rule.verbs).filter(
        (verb): verb is string => typeof verb === "string",
      );
      const extra = verbs.filter((verb) => !READ_VERBS.includes(verb));
      if (extra.length > 0) writes.push(`rules[${index}] ${extra.join(", ")}`);
    });
    if (writes.length > 0) {
      reportViolation(
        `ClusterRole ${args.name} grants ${writes.join("; ")} cluster-wide; grant writes (e.g. creating PipelineRuns) with a Role and RoleBinding in each app namespace.`,
      );
    }
  },
};

export const rbacBindingsNoSecretRoles: ResourceValidationPolicy = {
  name: "rbac-binding-no-secret-roles",
  description: `No RoleBinding or ClusterRoleBinding grants a role known to grant Secrets (${SECRET_GRANTING_ROLES.join(", ")}); ClusterRoleBindings grant ClusterRoles to ServiceAccounts only (Tekton's release manifests excepted).`,
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (!ROLE_BINDING.test(args.type) || isTektonReleaseResource(args.urn)) return;
    const cluster = CLUSTER_ROLE_BINDING.test(args.type);
    const kindName = cluster ? "ClusterRoleBinding" : "RoleBinding";
    const ref = roleRefOf(args.props);
    if (ref === undefined) return;
    if (
      ref.kind === "ClusterRole" &&
      (SECRET_GRANTING_ROLES as readonly string[]).includes(ref.name ?? "")
    ) {
      reportViolation(
        `${kindName} ${args.name} grants ClusterRole ${ref.name}, which grants Secrets${cluster ? " cluster-wide" : ""}; bind a role of this stack that grants only what is needed (the listeners: components/listener/listenerClusterRole.ts).`,
      );
    }
    if (!cluster) return;
    if (ref.kind !== "ClusterRole") {
      reportViolation(
        `ClusterRoleBinding ${args.name} refers to ${ref.kind ?? "?"} ${ref.name ?? "?"}; a ClusterRoleBinding can only grant a ClusterRole.`,
      );
    }
    for (const subject of knownItems(() => args.props.subjects)) {
      const subjectKind = isObject(subject) ? knownString(() => subject.kind) : undefined;
      if (subjectKind !== "ServiceAccount") {
        const subjectName = isObject(subject) ? knownString(() => subject.name) : undefined;
        reportViolation(
          `ClusterRoleBinding ${args.name} binds ${subjectKind ?? "?"} ${subjectName ?? "?"}; only ServiceAccounts (the EventListener's) may be bound.`,
        );
      }
    }
  },
};

/** The part of a stack resource the stack policy reads. */
type StackResource = Pick<PolicyResource, "type" | "name" | "urn" | "props">;

export const rbacBindingRolesInStack: StackValidationPolicy = {
  name: "rbac-binding-roles-in-stack",
  description:
    "Every binding of the stack grants a role whose rules grant no Secrets and no '*': a ClusterRoleBinding's ClusterRole must be defined in the stack; a binding to a role of the stack (Tekton's release included) is judged by that role's rules.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    const resources: StackResource[] = args.resources;
    const roles = new Map<string, StackResource>();
    for (const resource of resources) {
      const match = ROLE.exec(resource.type);
      if (!match) continue;
      const metadata = known(() => resource.props.metadata);
      const name = isObject(metadata) ? knownString(() => metadata.name) : undefined;
      const namespace = isObject(metadata) ? knownString(() => metadata.namespace) : undefined;
      if (name === undefined) continue;
      roles.set(match[1] ? `ClusterRole/${name}` : `Role/${namespace ?? ""}/${name}`, resource);
    }
    for (const binding of resources) {
      if (!ROLE_BINDING.test(binding.type) || isTektonReleaseResource(binding.urn)) continue;
      const cluster = CLUSTER_ROLE_BINDING.test(binding.type);
      const ref = roleRefOf(binding.props);
      if (ref === undefined || ref.name === undefined) continue;
      const metadata = known(() => binding.props.metadata);
      const namespace = isObject(metadata) ? knownString(() => metadata.namespace) : undefined;
      const key =
        ref.kind === "ClusterRole"
          ? `ClusterRole/${ref.name}`
          : `Role/${namespace ?? ""}/${ref.name}`;
      const role = roles.get(key);
      const kindName = cluster ? "ClusterRoleBinding" : "RoleBinding";
      if (role === undefined) {
        if (cluster) {
          reportViolation(
            `ClusterRoleBinding ${binding.name} grants ClusterRole ${ref.name}, which this stack does not define: its rules cannot be checked. Define the ClusterRole in the stack with only what is needed.`,
            binding.urn,
          );
        }
        continue;
      }
      const grants = dangerousGrants(known(() => role.props.rules));
      if (grants.length > 0) {
        reportViolation(
          `${kindName} ${binding.name} grants ${ref.kind} ${ref.name}, whose ${grants.join("; ")}; bind a role that grants no Secrets and no '*'.`,
          binding.urn,
        );
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Secrets holding private keys

const SSH_AUTH = "kubernetes.io/ssh-auth";
const TLS = "kubernetes.io/tls";
/** PEM and OpenSSH private key armour: `-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED ]PRIVATE KEY-----`. */
const PRIVATE_KEY_ARMOUR = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/;
const OPENSSH_ARMOUR = "-----BEGIN OPENSSH PRIVATE KEY-----";

/** The text a Secret value carries: `data` values are base64, `stringData` values are plain. */
function secretTexts(value: string, base64: boolean): string[] {
  if (!base64) return [value];
  // Also the raw value: a key pasted into `data` without encoding is still a key in Git history.
  return [value, Buffer.from(value, "base64").toString("utf8")];
}

export interface PrivateKeyEntry {
  field: "data" | "stringData";
  key: string;
  /** True when the entry is an OpenSSH key or named ssh-privatekey: an SSH key for sure. */
  ssh: boolean;
}

/** Entries of a Secret's data/stringData that hold private keys (unknown values skipped). */
export function privateKeyEntries(props: Record<string, any>): PrivateKeyEntry[] {
  const found: PrivateKeyEntry[] = [];
  for (const field of ["data", "stringData"] as const) {
    const entries = known(() => props[field]);
    if (!isObject(entries)) continue;
    for (const key of Object.keys(entries)) {
      if (key === "ssh-privatekey") {
        found.push({ field, key, ssh: true });
        continue;
      }
      const value = knownString(() => entries[key]);
      if (value === undefined) continue;
      const texts = secretTexts(value, field === "data");
      if (texts.some((text) => PRIVATE_KEY_ARMOUR.test(text))) {
        found.push({ field, key, ssh: texts.some((text) => text.includes(OPENSSH_ARMOUR)) });
      }
    }
  }
  return found;
}

export const privateKeysInSshAuthSecrets: ResourceValidationPolicy = {
  name: "private-keys-in-ssh-auth-secrets",
  description: `Secrets holding a private key are of type ${SSH_AUTH} (a TLS key in a ${TLS} Secret's tls.key, and Tekton Chains' signing key in ${CHAINS_NAMESPACE}/${CHAINS_SIGNING_SECRET} ${CHAINS_SIGNING_KEY}, excepted).`,
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    // A SecretPatch writes keys into a Secret as well (server-side apply).
    if (
      args.type !== "kubernetes:core/v1:Secret" &&
      args.type !== "kubernetes:core/v1:SecretPatch"
    ) {
      return;
    }
    const type = known(() => args.props.type);
    if (type === UNKNOWN || type === SSH_AUTH) return;
    const metadata = known(() => args.props.metadata);
    const chainsSigningSecret =
      isObject(metadata) &&
      knownString(() => metadata.namespace) === CHAINS_NAMESPACE &&
      knownString(() => metadata.name) === CHAINS_SIGNING_SECRET;
    for (const entry of privateKeyEntries(args.props)) {
      // The one other legitimate home of a private key: a certificate's key in a TLS Secret.
      if (type === TLS && entry.key === "tls.key" && !entry.ssh) continue;
      // Tekton Chains reads its signing key from exactly here (its release declares the Secret,
      // Opaque; chains v0.29.2 pkg/chains/signing/x509/x509.go NewSigner reads x509.pem).
      if (chainsSigningSecret && entry.key === CHAINS_SIGNING_KEY && !entry.ssh) continue;
      reportViolation(
        `Secret ${args.name} holds a private key in ${entry.field}.${entry.key} but has type ${typeof type === "string" ? type : "Opaque"}; SSH keys belong in a Secret of type ${SSH_AUTH} under ssh-privatekey, which Tekton's credential init and the tasks expect.`,
      );
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Results Tekton Chains reads

/** The type-hinted results Chains takes as the image a TaskRun built (tektoncd/chains v0.29.2
 * pkg/artifacts/signable.go `OCIImageURLResultName`, `OCIImageDigestResultName`). */
export const CHAINS_IMAGE_RESULTS = ["IMAGE_URL", "IMAGE_DIGEST"] as const;

/**
 * Whether Tekton Chains takes a result of this name as an artifact to sign (tektoncd/chains
 * v0.29.2 pkg/artifacts/signable.go: the suffixes IMAGE_URL / IMAGE_DIGEST and ARTIFACT_URI /
 * ARTIFACT_DIGEST (`ExtractStructuredTargetFromResults`), ARTIFACT_OUTPUTS, and IMAGES).
 */
function chainsSigns(name: string): boolean {
  return (
    name === "IMAGES" ||
    /(IMAGE_URL|IMAGE_DIGEST|ARTIFACT_URI|ARTIFACT_DIGEST|ARTIFACT_OUTPUTS)$/.test(name)
  );
}

/** A Kaniko step: the executor named as command, or an image of a Kaniko repository. */
function runsKaniko(container: Record<string, any>, templateImage?: string): boolean {
  const command = knownItems(() => container.command);
  if (command.some((part) => typeof part === "string" && /(^|\/)kaniko\/executor$/.test(part))) {
    return true;
  }
  const image = knownString(() => container.image) ?? templateImage;
  if (image === undefined) return false;
  const repository = image.split("@")[0].replace(/:[^/:]*$/, "");
  return /(^|\/)kaniko(-project\/executor)?$|\/kaniko\/|(^|\/)kaniko-project\//.test(repository);
}

/**
 * A Kaniko step that pushes no image: `--no-push` (or `--no-push=true`) and no destination
 * (osscontainertools/kaniko v1.28.3 cmd/executor/cmd/root.go: `--no-push` "Do not push the image
 * to the registry", `--destination`/`-d`; RootCmd's `PersistentPreRunE` asks for one of them). Chains
 * has no image of it to sign (a merge request build without `mergeRequests.push`,
 * tekton/mergeRequest). Unknown args count as pushing.
 */
function kanikoPushesNothing(container: Record<string, any>): boolean {
  const args = known(() => container.args);
  if (!Array.isArray(args)) return false;
  const words = knownItems(() => args);
  if (words.some((word) => typeof word !== "string")) return false;
  const noPush = words.some((word) => word === "--no-push" || word === "--no-push=true");
  const destination = words.some((word) => /^(--destination|-d)(=|$)|^-d./.test(word as string));
  return noPush && !destination;
}

/** Task specs of a Tekton object, with where they sit: a Task's, a TaskRun's, a Pipeline's. */
function taskSpecsOf(args: Pick<ResourceValidationArgs, "type" | "props">) {
  const match = TEKTON_TYPE.exec(args.type);
  if (!match) return [];
  const spec = known(() => args.props.spec);
  if (!isObject(spec)) return [];
  const found: { where: string; spec: Record<string, any> }[] = [];
  const ofPipeline = (pipelineSpec: unknown, where: string) => {
    if (!isObject(pipelineSpec)) return;
    for (const field of ["tasks", "finally"] as const) {
      knownItems(() => pipelineSpec[field]).forEach((task, index) => {
        const taskSpec = isObject(task) ? known(() => task.taskSpec) : undefined;
        if (isObject(taskSpec)) {
          found.push({ where: `${where}.${field}[${index}].taskSpec`, spec: taskSpec });
        }
      });
    }
  };
  switch (match[2]) {
    case "Task":
    case "ClusterTask":
      found.push({ where: "spec", spec });
      break;
    case "TaskRun": {
      const taskSpec = known(() => spec.taskSpec);
      if (isObject(taskSpec)) found.push({ where: "spec.taskSpec", spec: taskSpec });
      break;
    }
    case "Pipeline":
      ofPipeline(spec, "spec");
      break;
    case "PipelineRun":
      ofPipeline(
        known(() => spec.pipelineSpec),
        "spec.pipelineSpec",
      );
      break;
  }
  return found;
}

export const kanikoResultsForChains: ResourceValidationPolicy = {
  name: "tekton-kaniko-chains-results",
  description: `A Task that runs Kaniko to push an image (anything but --no-push without a --destination) declares the results IMAGE_URL and IMAGE_DIGEST, so Tekton Chains signs and attests the image it pushes; only a Task annotated ${UNSIGNED_IMAGE_ANNOTATION}: "true" (a merge request's build: unreviewed code Chains must not vouch for) does without them.`,
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    // An unsigned image is a Task's own declaration, on the Task object itself; such a Task
    // must then declare no result Chains would sign after all.
    const unsigned =
      /:Task$/.test(args.type) &&
      annotationsOf(known(() => args.props.metadata))[UNSIGNED_IMAGE_ANNOTATION] === "true";
    if (unsigned) {
      const spec = known(() => args.props.spec);
      const names = isObject(spec)
        ? knownItems(() => spec.results).map((r) =>
            isObject(r) ? knownString(() => r.name) : undefined,
          )
        : [];
      for (const name of names) {
        if (name !== undefined && chainsSigns(name)) {
          reportViolation(
            `spec.results declares ${name}, a result Tekton Chains signs, on a Task annotated ${UNSIGNED_IMAGE_ANNOTATION}: "true": rename it (e.g. built-digest), or drop the annotation if the image is to be signed.`,
          );
        }
      }
      return;
    }
    for (const { where, spec } of taskSpecsOf(args)) {
      const template = known(() => spec.stepTemplate);
      const templateImage = isObject(template) ? knownString(() => template.image) : undefined;
      const kaniko = knownItems(() => spec.steps).filter(
        (step) => isObject(step) && runsKaniko(step, templateImage),
      );
      if (kaniko.length === 0 || kaniko.every(kanikoPushesNothing)) continue;
      const results = known(() => spec.results);
      if (results === UNKNOWN) continue;
      const declared = new Set(
        knownItems(() => spec.results).map((result) =>
          isObject(result) ? knownString(() => result.name) : undefined,
        ),
      );
      const missing = CHAINS_IMAGE_RESULTS.filter((name) => !declared.has(name));
      if (missing.length > 0) {
        reportViolation(
          `${where} runs Kaniko but is missing ${missing.join(", ")}: Tekton Chains finds the image a TaskRun built only through the results ${CHAINS_IMAGE_RESULTS.join(", ")} (write --digest-file to $(results.IMAGE_DIGEST.path) and the destination to IMAGE_URL).`,
        );
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// The shared listener's PipelineRuns

const EVENT_LISTENER = /^kubernetes:triggers\.tekton\.dev\/[^:]+:EventListener$/;
const VAP = /^kubernetes:admissionregistration\.k8s\.io\/v1:ValidatingAdmissionPolicy$/;
const VAP_BINDING =
  /^kubernetes:admissionregistration\.k8s\.io\/v1:ValidatingAdmissionPolicyBinding$/;
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * A listener that may create PipelineRuns in a build namespace can create one that mounts that
 * namespace's Secrets, unless an admission policy confines it (tekton/listener/listenerAdmission.ts).
 * Advisory, not mandatory: on clusters before Kubernetes 1.30 `listener.admissionPolicy: false`
 * is the only choice, and the README's security table states the gap it leaves.
 */
export const listenerRunsConfined: StackValidationPolicy = {
  name: "listener-runs-admission-policy",
  description:
    "Every namespace where an EventListener's ServiceAccount is bound to a role has a ValidatingAdmissionPolicy (Deny) matching that ServiceAccount's requests, so a compromised listener cannot create a PipelineRun that reads the namespace's Secrets (tekton-gitlab:listener.admissionPolicy).",
  enforcementLevel: "advisory",
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    const resources: StackResource[] = args.resources;
    const metaOf = (r: StackResource) => {
      const metadata = known(() => r.props.metadata);
      return {
        name: isObject(metadata) ? knownString(() => metadata.name) : undefined,
        namespace: isObject(metadata) ? knownString(() => metadata.namespace) : undefined,
      };
    };
    const listeners = new Set<string>();
    for (const r of resources) {
      if (!EVENT_LISTENER.test(r.type)) continue;
      const sa = knownString(() => r.props.spec?.serviceAccountName);
      const { namespace } = metaOf(r);
      if (sa !== undefined && namespace !== undefined) listeners.add(`${namespace}:${sa}`);
    }
    // Policy name -> the listener users its matchConditions name.
    const policies = new Map<string, string>();
    for (const r of resources) {
      if (!VAP.test(r.type)) continue;
      const { name } = metaOf(r);
      const conditions = knownItems(() => r.props.spec?.matchConditions);
      const text = conditions.map((c) => knownString(() => c?.expression) ?? "").join(" ");
      if (name !== undefined) policies.set(name, text);
    }
    // Namespace -> the conditions of the Deny policies bound there.
    const confined = new Map<string, string[]>();
    for (const r of resources) {
      if (!VAP_BINDING.test(r.type)) continue;
      const actions = knownItems(() => r.props.spec?.validationActions);
      if (!actions.includes("Deny")) continue;
      const namespace = knownString(
        () => r.props.spec?.matchResources?.namespaceSelector?.matchLabels?.[NAMESPACE_NAME_LABEL],
      );
      const conditions = policies.get(knownString(() => r.props.spec?.policyName) ?? "");
      if (namespace === undefined || conditions === undefined) continue;
      confined.set(namespace, [...(confined.get(namespace) ?? []), conditions]);
    }
    for (const binding of resources) {
      if (!ROLE_BINDING.test(binding.type) || CLUSTER_ROLE_BINDING.test(binding.type)) continue;
      const { namespace } = metaOf(binding);
      if (namespace === undefined) continue;
      for (const subject of knownItems(() => binding.props.subjects)) {
        if (!isObject(subject) || subject.kind !== "ServiceAccount") continue;
        const key = `${subject.namespace}:${subject.name}`;
        if (!listeners.has(key) || subject.namespace === namespace) continue;
        const user = `system:serviceaccount:${key}`;
        if ((confined.get(namespace) ?? []).some((text) => text.includes(`'${user}'`))) continue;
        reportViolation(
          `RoleBinding ${binding.name} lets the EventListener's ServiceAccount ${key} act in namespace ${namespace}, which no ValidatingAdmissionPolicy confines: a compromised listener could create a PipelineRun that reads ${namespace}'s Secrets. Set tekton-gitlab:listener.admissionPolicy to true (Kubernetes 1.30+).`,
          binding.urn,
        );
      }
    }
  },
};

/** Every resource policy of the pack, in the order they are reported. */
export const resourcePolicies: ResourceValidationPolicy[] = [
  pinnedStepImages,
  noSkipTlsVerify,
  noParamsInScript,
  readOnlySourceDeployKeys,
  rbacRolesNoSecrets,
  rbacClusterRolesReadOnly,
  rbacBindingsNoSecretRoles,
  privateKeysInSshAuthSecrets,
  kanikoResultsForChains,
];

/** The stack policies of the pack (they see every resource at once). */
export const stackPolicies: StackValidationPolicy[] = [
  rbacBindingRolesInStack,
  listenerRunsConfined,
];

/** Every policy of the pack. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  ...resourcePolicies,
  ...stackPolicies,
];
