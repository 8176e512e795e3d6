// Names shared by the credentials, the pipeline and the trigger of one app. They are part of
// the stack's contract: Tasks and Secrets refer to each other by these names.
import { AppConfig, GitSshConfig, REGISTRY_SECRET } from "../../config/schema";

/**
 * Secret (kubernetes.io/ssh-auth) with the read-only source key; not annotated, listed on no
 * ServiceAccount: the tag task mounts it as a workspace.
 */
export const GIT_PULL_SECRET = "git-pull";
/** Secret (kubernetes.io/ssh-auth) with the operations push key; not annotated, on no SA. */
export const GIT_WRITE_SECRET = "git-write";
/** Secret (kubernetes.io/dockerconfigjson) for the registry, when a username is configured. */
export { REGISTRY_SECRET };
/** ConfigMap holding the registry CA (`ca.crt`), when one is configured. */
export const REGISTRY_CA_CONFIGMAP = "registry-ca";
export const REGISTRY_CA_KEY = "ca.crt";
/**
 * ServiceAccount the PipelineRun's TaskRuns run as. It lists no Secrets: Tekton's credential
 * init would mount every registry or annotated git credential listed there into every step.
 */
export const BUILD_SERVICE_ACCOUNT = "tekton-build";
/**
 * ServiceAccount of the build-and-push TaskRun only (the PipelineRun's `taskRunSpecs`), when
 * the registry needs credentials. It lists the registry Secret as `imagePullSecrets`, which
 * Tekton's credential init never mounts into a step (pipeline v1.15.0 pkg/pod/creds_init.go
 * `credsInit` reads `secrets` only) but Tekton Chains' registry keychain reads (tektoncd/chains
 * v0.29.2 pkg/chains/storage/oci/legacy.go, k8schain of the TaskRun's ServiceAccount): Chains
 * pushes the image's signature and attestation with it.
 */
export const BUILD_PUSH_SERVICE_ACCOUNT = "tekton-build-push";

/** Pipeline params every trigger must supply (the rest have defaults from config). */
export const PIPELINE_PARAMS = {
  sourceUrl: "source-url",
  revision: "revision",
  operationsUrl: "operations-url",
} as const;

/** Pipeline workspaces, bound by the TriggerTemplate's PipelineRun. */
export const WORKSPACES = {
  /** The source checkout: tag writes it, build and patch read it (PVC via volumeClaimTemplate). */
  source: "source",
  /** The operations checkout, used by the patch task only (emptyDir). */
  operations: "operations",
  /** Secret git-pull, mounted by the tag task only. */
  gitPull: "git-pull-ssh",
  /** Secret git-write, mounted by the patch task's git steps only. */
  gitWrite: "git-write-ssh",
  /** Secret registry-credentials (dockerconfigjson), when configured; the build task only. */
  dockerConfig: "docker-config",
  /** ConfigMap registry-ca, when configured. */
  registryCa: "registry-ca",
  /** Secret with the GitLab status token (key `token`); the status tasks only. */
  statusToken: "gitlab-status-token",
  /** ConfigMap gitlab-ca (gitlab:cacertFile), when configured; the status tasks only. */
  gitlabCa: "gitlab-ca",
} as const;

/** ConfigMap holding GitLab's CA (from gitlab:cacertFile) for the status steps. */
export const GITLAB_CA_CONFIGMAP = "gitlab-ca";
/** Its key: the registry CA's, the same convention. */
export const GITLAB_CA_KEY = REGISTRY_CA_KEY;

export function pipelineName(app: Pick<AppConfig, "name">): string {
  return `build-${app.name}`;
}

/** Clone URL of a GitLab project over SSH; the scp form cannot carry a port. */
export function sshCloneUrl(ssh: Pick<GitSshConfig, "host" | "port">, projectPath: string): string {
  return ssh.port === 22
    ? `git@${ssh.host}:${projectPath}.git`
    : `ssh://git@${ssh.host}:${ssh.port}/${projectPath}.git`;
}

/** Labels on every Kubernetes object the stack creates for an app. */
export function appLabels(app: Pick<AppConfig, "name">): Record<string, string> {
  return {
    "app.kubernetes.io/managed-by": "tekton-gitlab",
    "app.kubernetes.io/part-of": app.name,
  };
}

/**
 * Annotation on the build Task saying the registry was marked insecure in config; the policy
 * pack allows `--skip-tls-verify` only where it is "true".
 */
export const INSECURE_REGISTRY_ANNOTATION = "tekton-gitlab.io/insecure-registry";

/**
 * Annotation ("true") on a Task whose Kaniko step builds an image Tekton Chains must not sign: a
 * merge request's, built from code nobody reviewed (tekton/mergeRequest). Such a Task declares no
 * IMAGE_URL / IMAGE_DIGEST results; the policy pack lets it, and only it, do without them.
 */
export const UNSIGNED_IMAGE_ANNOTATION = "tekton-gitlab.io/unsigned-image";

/**
 * Annotation on the status Task saying `gitlab:insecure` is true: its curl step then skips TLS
 * verification for GitLab's API, and the policy pack allows `--insecure` there only.
 */
export const INSECURE_GITLAB_ANNOTATION = "tekton-gitlab.io/insecure-gitlab";

/** Pulumi resource names of an app's deploy keys (the policy pack keys off the suffix). */
export function deployKeyResourceNames(app: Pick<AppConfig, "name">) {
  return {
    source: `${app.name}-source-deploy-key`,
    operations: `${app.name}-operations-deploy-key`,
  };
}

/** Labels and annotations on the PipelineRuns a push creates. */
export const RUN_METADATA = {
  commitLabel: "tekton-gitlab.io/commit",
  branchLabel: "tekton-gitlab.io/branch",
  branchAnnotation: "tekton-gitlab.io/branch",
  refAnnotation: "tekton-gitlab.io/ref",
  projectAnnotation: "tekton-gitlab.io/project",
} as const;
