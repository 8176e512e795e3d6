// Which credentials Tekton's credential init hands to every step, and the stack policy that keeps
// registry and git credentials off the ServiceAccount a whole PipelineRun runs as.
//
// Tekton Pipelines v1.15.0, pkg/pod/creds_init.go `credsInit`: for each entry of the TaskRun's
// ServiceAccount `secrets` list, the Secret is read and offered to dockercreds and gitcreds
// `MatchingAnnotations`; a Secret either recognises becomes a volume, and pkg/pod/pod.go
// (`Build`, "Add implicit volume mounts to each step") mounts it into EVERY step of the pod.
// What they recognise (pkg/credentials/dockercreds/creds.go, pkg/credentials/gitcreds/creds.go,
// annotation keys matched by prefix in pkg/credentials/writer `SortAnnotations`):
//   - kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg: always, no annotation needed;
//   - kubernetes.io/basic-auth: with a `tekton.dev/docker-*` or `tekton.dev/git-*` annotation;
//   - kubernetes.io/ssh-auth: with a `tekton.dev/git-*` annotation.
// The only off switch is the cluster-wide feature flag `disable-creds-init` (default "false",
// pkg/apis/config/feature_flags.go): nothing per Task. So a ServiceAccount's `secrets` list is
// not documentation: what is listed there is mounted.
import { ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { isObject, knownItems, knownOrUndefined, knownString } from "./values";

export const SECRET_TYPES = {
  basicAuth: "kubernetes.io/basic-auth",
  sshAuth: "kubernetes.io/ssh-auth",
  dockerConfigJson: "kubernetes.io/dockerconfigjson",
  dockercfg: "kubernetes.io/dockercfg",
} as const;

/** Annotation prefixes dockercreds and gitcreds look for. */
export const CREDS_INIT_ANNOTATION_PREFIXES = {
  docker: "tekton.dev/docker-",
  git: "tekton.dev/git-",
} as const;

/** The ServiceAccount a TaskRun runs as when none is named (config-defaults.yaml). */
export const TEKTON_DEFAULT_SERVICE_ACCOUNT = "default";

export interface SecretShape {
  type?: string;
  annotations?: Record<string, string>;
}

/**
 * A git credential (ssh-auth or basic-auth): credential init ignores it unannotated, but one
 * `tekton.dev/git-*` annotation away it is in every step, so a run-wide account lists none.
 */
function isGitCredential(secret: SecretShape): boolean {
  return secret.type === SECRET_TYPES.sshAuth || secret.type === SECRET_TYPES.basicAuth;
}

/** True when Tekton's credential init mounts this Secret into every step, if the SA lists it. */
export function credentialInitMounts(secret: SecretShape): boolean {
  const keys = Object.keys(secret.annotations ?? {});
  const annotated = (prefix: string) => keys.some((key) => key.startsWith(prefix));
  switch (secret.type) {
    case SECRET_TYPES.dockerConfigJson:
    case SECRET_TYPES.dockercfg:
      return true;
    case SECRET_TYPES.basicAuth:
      return (
        annotated(CREDS_INIT_ANNOTATION_PREFIXES.docker) ||
        annotated(CREDS_INIT_ANNOTATION_PREFIXES.git)
      );
    case SECRET_TYPES.sshAuth:
      return annotated(CREDS_INIT_ANNOTATION_PREFIXES.git);
    default:
      return false;
  }
}

/** A ServiceAccount every TaskRun of a run uses: where the run names it, in which namespace. */
export interface RunWideServiceAccount {
  namespace: string;
  name: string;
  /** e.g. `TriggerTemplate hello-python-pipelinerun spec.resourcetemplates[0]`. */
  where: string;
}

const TEKTON_RUN_TYPE = /^kubernetes:(tekton\.dev|triggers\.tekton\.dev)\/[^:]+:(\w+)$/;

/**
 * The run-wide ServiceAccounts of a run object: a PipelineRun's
 * `spec.taskRunTemplate.serviceAccountName` (v1, pkg/apis/pipeline/v1/pipelinerun_types.go
 * `PipelineTaskRunTemplate`), a TaskRun's `spec.serviceAccountName`, Tekton's default when
 * unset. A PipelineRun's `taskRunSpecs[].serviceAccountName` applies to one pipeline task only
 * and is not run-wide.
 */
function runWideOf(kind: string, object: unknown, namespace: string, where: string) {
  if (!isObject(object)) return [];
  const spec = knownOrUndefined(() => object.spec);
  if (!isObject(spec)) return [];
  let name: string | undefined;
  if (kind === "PipelineRun") {
    const template = knownOrUndefined(() => spec.taskRunTemplate);
    name = isObject(template) ? knownString(() => template.serviceAccountName) : undefined;
  } else if (kind === "TaskRun") {
    name = knownString(() => spec.serviceAccountName);
  } else {
    return [];
  }
  return [{ namespace, name: name || TEKTON_DEFAULT_SERVICE_ACCOUNT, where }];
}

export interface StackResource {
  type: string;
  name: string;
  urn: string;
  props: Record<string, any>;
}

function namespaceOf(props: Record<string, any>): string | undefined {
  const metadata = knownOrUndefined(() => props.metadata);
  return isObject(metadata) ? knownString(() => metadata.namespace) : undefined;
}

function nameOf(props: Record<string, any>): string | undefined {
  const metadata = knownOrUndefined(() => props.metadata);
  return isObject(metadata) ? knownString(() => metadata.name) : undefined;
}

/** Every run-wide ServiceAccount the stack's PipelineRuns and TaskRuns (or templates) use. */
export function runWideServiceAccounts(resources: StackResource[]): RunWideServiceAccount[] {
  const found: RunWideServiceAccount[] = [];
  for (const resource of resources) {
    const match = TEKTON_RUN_TYPE.exec(resource.type);
    const namespace = namespaceOf(resource.props);
    if (!match || namespace === undefined) continue;
    const kind = match[2];
    if (kind === "TriggerTemplate") {
      // Triggers creates the template's runs in the listener's (and template's) namespace.
      const spec = knownOrUndefined(() => resource.props.spec);
      if (!isObject(spec)) continue;
      knownItems(() => spec.resourcetemplates).forEach((template, index) => {
        const templateKind = isObject(template) ? knownString(() => template.kind) : undefined;
        if (templateKind === undefined) return;
        found.push(
          ...runWideOf(
            templateKind,
            template,
            namespace,
            `TriggerTemplate ${resource.name} spec.resourcetemplates[${index}]`,
          ),
        );
      });
    } else {
      found.push(...runWideOf(kind, resource.props, namespace, `${kind} ${resource.name}`));
    }
  }
  return found;
}

/** Violations: each credential a run-wide ServiceAccount hands to every step of every task. */
function runWideCredentialProblems(
  resources: StackResource[],
): { message: string; urn?: string }[] {
  const problems: { message: string; urn?: string }[] = [];
  const inNamespace = (type: string, namespace: string, name: string) =>
    resources.find(
      (r) => r.type === type && namespaceOf(r.props) === namespace && nameOf(r.props) === name,
    );
  const seen = new Set<string>();
  for (const account of runWideServiceAccounts(resources)) {
    const key = `${account.namespace}/${account.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const sa = inNamespace("kubernetes:core/v1:ServiceAccount", account.namespace, account.name);
    if (!sa) continue;
    for (const entry of knownItems(() => sa.props.secrets)) {
      const secretName = isObject(entry) ? knownString(() => entry.name) : undefined;
      if (!secretName) continue;
      const secret = inNamespace("kubernetes:core/v1:Secret", account.namespace, secretName);
      const fix = `List no credentials on a run-wide ServiceAccount: bind each credential as a workspace of the one task that needs it (or give that task its own ServiceAccount through the PipelineRun's taskRunSpecs).`;
      if (!secret) {
        problems.push({
          urn: sa.urn,
          message: `ServiceAccount ${key}, which ${account.where} runs every task as, lists Secret ${secretName}, which this stack does not define; if it is a registry or annotated git credential, Tekton's credential init mounts it into every step. ${fix}`,
        });
        continue;
      }
      const metadata = knownOrUndefined(() => secret.props.metadata);
      const annotationsValue = isObject(metadata)
        ? knownOrUndefined(() => metadata.annotations)
        : undefined;
      const annotations: Record<string, string> = {};
      if (isObject(annotationsValue)) {
        for (const name of Object.keys(annotationsValue)) annotations[name] = "";
      }
      const shape = { type: knownString(() => secret.props.type), annotations };
      const described = `Secret ${secretName} (${shape.type}${Object.keys(annotations).length ? `, annotated ${Object.keys(annotations).join(", ")}` : ""})`;
      if (credentialInitMounts(shape)) {
        problems.push({
          urn: sa.urn,
          message: `ServiceAccount ${key}, which ${account.where} runs every task as, lists ${described}: Tekton's credential init mounts it into every step of every task (the image build included). ${fix}`,
        });
      } else if (isGitCredential(shape)) {
        problems.push({
          urn: sa.urn,
          message: `ServiceAccount ${key}, which ${account.where} runs every task as, lists ${described}: a git credential one tekton.dev/git-* annotation away from every step of every task. ${fix}`,
        });
      }
    }
  }
  return problems;
}

export const noRunWideCredentials: StackValidationPolicy = {
  name: "no-run-wide-credentials",
  description:
    "The ServiceAccount a whole PipelineRun or TaskRun runs as lists no registry or git credential (dockerconfigjson, ssh-auth, basic-auth, tekton.dev/git-* or docker-* annotated): Tekton's credential init would mount it into every step.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    for (const problem of runWideCredentialProblems(args.resources)) {
      reportViolation(problem.message, problem.urn);
    }
  },
};

/** Every stack policy of the pack. */
export const stackPolicies: StackValidationPolicy[] = [noRunWideCredentials];
