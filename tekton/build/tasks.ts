// The three Tasks of an app's build pipeline, as pure builders returning plain tekton.dev/v1
// manifests. Params reach scripts only through `env` (a crafted value must never become shell
// code), images come from config (pinned), and nothing here talks to a cluster.
import {
  AppConfig,
  GitLabEndpoint,
  GitSshConfig,
  ImagesConfig,
  RegistryConfig,
  ValidatedConfig,
} from "../../config/schema";
import {
  appLabels,
  BUILD_PUSH_SERVICE_ACCOUNT,
  GIT_PULL_SECRET,
  GIT_WRITE_SECRET,
  INSECURE_REGISTRY_ANNOTATION,
  PIPELINE_PARAMS,
  REGISTRY_CA_KEY,
  WORKSPACES,
} from "../core/names";
import { dashboardBaseUrl } from "../cluster/dashboard";
// Cycles (statusTasks.ts reads nonRootSecurityContext, cancelTask.ts nonRootStepTemplate), used
// at call time only on both sides.
import { reportBuildStatusTask } from "../status/statusTasks";
import { cancelTasks } from "../cancel/cancelTask";
import { EnvVar, ObjectMeta, ParamSpec, SecurityContext, StepTemplate, Task } from "../core/types";
import { env, param, workspacePath } from "../core/variables";

/** What the Tasks need from the stack config besides the app itself. */
export interface BuildContext {
  gitSsh: GitSshConfig;
  registry: RegistryConfig;
  images: ImagesConfig;
  /** Base URL of the Tekton Dashboard (no trailing slash), for status links; unset: none. */
  dashboardUrl?: string;
  /** GitLab's API for the status tasks (tekton/status/statusTasks.ts); set when an app reports. */
  gitlab?: GitLabEndpoint;
}

export function buildContext(
  config: Pick<ValidatedConfig, "gitSsh" | "registry" | "images" | "gitlab"> &
    Partial<Pick<ValidatedConfig, "tekton">>,
): BuildContext {
  const ctx: BuildContext = {
    gitSsh: config.gitSsh,
    registry: config.registry,
    images: config.images,
  };
  if (config.gitlab !== undefined) ctx.gitlab = config.gitlab;
  // `tekton.dashboard.url`, else `https://<tekton.dashboard.ingress.host>` (tekton/cluster/dashboard.ts).
  const dashboardUrl = config.tekton && dashboardBaseUrl(config.tekton);
  if (dashboardUrl !== undefined) ctx.dashboardUrl = dashboardUrl;
  return ctx;
}

/** Task names (and the Pipeline's task names): part of the stack's contract. */
export const TASK_NAMES = {
  tag: "generate-image-tag",
  build: "build-and-push",
  patch: "patch-deployment",
} as const;

/** Params of the Tasks; the Pipeline declares the same names. */
export const TASK_PARAMS = {
  ...PIPELINE_PARAMS,
  registryHost: "registry-host",
  imageRepository: "image-repository",
  imageUrl: "image-url",
  dockerfile: "dockerfile",
  contextDir: "context-dir",
  deploymentFile: "deployment-file",
  containerName: "container-name",
  imageDigest: "image-digest",
  cacheRepository: "cache-repository",
  commitSha: "commit-sha",
  sourceBranch: "source-branch",
  operationsBranch: "operations-branch",
} as const;

/** Results of the tag task. */
export const TASK_RESULTS = {
  imageUrl: "image-url",
  commitSha: "commit-sha",
} as const;

/**
 * Results of the build task, named for Tekton Chains' type hinting: a TaskRun (or PipelineRun)
 * with an `IMAGE_URL` and an `IMAGE_DIGEST` result built that image (tektoncd/chains v0.29.2
 * pkg/artifacts/signable.go `OCIImageURLResultName`/`OCIImageDigestResultName`, read by
 * `ExtractOCIImagesFromResults`; pkg/chains/formats/slsa/extract/extract.go
 * `SubjectDigests` for provenance subjects). Chains signs the image and attests the build.
 */
export const BUILD_RESULTS = {
  imageUrl: "IMAGE_URL",
  imageDigest: "IMAGE_DIGEST",
} as const;

/**
 * UID and GID of every git and kubectl step: `nobody`, which both the Alpine-based git image and
 * the Debian-based kubectl image list in /etc/passwd. ssh refuses to run for a UID without a
 * passwd entry, so an arbitrary UID would break every clone.
 */
export const STEP_USER_ID = 65534;

/**
 * The fsGroup a PipelineRun's pod template must set so the non-root tag step can write into a
 * freshly provisioned `source` volume (most provisioners create its root owned by root, 0755).
 */
export const BUILD_FS_GROUP = STEP_USER_ID;

/**
 * HOME of the non-root steps: Tekton's per-pod emptyDir, writable by any UID; git keeps its
 * global config (safe.directory) there. No credential is put there: the build ServiceAccount
 * lists no Secrets, so credential init has nothing to copy (keys come in as workspaces).
 */
export const STEP_HOME = "/tekton/home";

/** Checkout of the source repository inside the `source` workspace. */
export const SOURCE_CHECKOUT_DIR = "src";
/** Checkout of the operations repository inside the `operations` workspace. */
export const OPERATIONS_CHECKOUT_DIR = "repo";
/** kubectl's output, beside (not inside) the operations checkout. */
export const PATCHED_FILE = "patched-deployment.yaml";
/**
 * Ref the tag task leaves in the source checkout: the source branch's tip as fetched with the
 * commit. patch-deployment reads it (no key, no network) to decide which commit is newer.
 */
export const SOURCE_TIP_REF = "refs/tekton-gitlab/branch-tip";
/** How often the patch task pushes before giving up when others keep pushing first. */
export const PUSH_ATTEMPTS = 5;
/** Author and committer of the operations commits. */
export const COMMIT_IDENTITY = { name: "tekton-gitlab", email: "tekton-gitlab@noreply.invalid" };

/** Where sshKeySetup finds the key and host keys: an ssh-auth Secret bound to `workspace`. */
const sshKeyEnv = (workspace: string): EnvVar[] => [
  env("SSH_KEY", `${workspacePath(workspace)}/ssh-privatekey`),
  env("KNOWN_HOSTS", `${workspacePath(workspace)}/known_hosts`),
];
const stringParam = (name: string, description: string): ParamSpec => ({
  name,
  type: "string",
  description,
});

function metadata(app: AppConfig, name: string, annotations?: Record<string, string>) {
  const meta: ObjectMeta = { name, namespace: app.namespace, labels: appLabels(app) };
  if (annotations) meta.annotations = annotations;
  return meta;
}

/** Security context of the steps that need no privilege at all. */
export const nonRootSecurityContext: SecurityContext = {
  runAsUser: STEP_USER_ID,
  runAsGroup: STEP_USER_ID,
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

export const nonRootStepTemplate: StepTemplate = {
  env: [env("HOME", STEP_HOME)],
  securityContext: nonRootSecurityContext,
};

/** ssh options shared by every git step: pinned host keys only, never trust on first use. */
const STRICT_HOST_KEYS =
  "-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes";

/** Shell lines rejecting a git URL that git could read as an option. */
function rejectOptionLikeUrl(variable: string, paramName: string): string {
  return `case "$${variable}" in
  "" | -*) echo "${paramName} must be a git URL, got: '$${variable}'" >&2; exit 1 ;;
esac`;
}

/** Shell lines rejecting a branch name git would not take (or could read as an option). */
function rejectInvalidBranch(variable: string, paramName: string, expected: string): string {
  return `case "$${variable}" in
  "" | -*) BRANCH_OK=no ;;
  *) if git check-ref-format --branch "$${variable}" >/dev/null 2>&1; then BRANCH_OK=yes; else BRANCH_OK=no; fi ;;
esac
if [ "$BRANCH_OK" != yes ]; then
  echo "${paramName} must be ${expected}, got: '$${variable}'" >&2
  exit 1
fi`;
}

/**
 * Shell lines giving git exactly one key: the ssh-auth Secret a workspace mounts at $SSH_KEY,
 * with its pinned $KNOWN_HOSTS. The Secret volume's files may be shared with other UIDs or
 * read-only with modes ssh rejects for a private key, so the key is copied to a private file
 * first. `-F none` keeps ssh away from any ssh config (the image's or one left in $HOME).
 */
function sshKeySetup(secretName: string): string {
  return `for file in "$SSH_KEY" "$KNOWN_HOSTS"; do
  if [ ! -s "$file" ]; then
    echo "missing $file: bind Secret ${secretName} (keys ssh-privatekey and known_hosts) to this task's workspace" >&2
    exit 1
  fi
done
KEY_FILE="$(mktemp)"
trap 'rm -f "$KEY_FILE"' EXIT
cat "$SSH_KEY" > "$KEY_FILE"
chmod 600 "$KEY_FILE"
export GIT_SSH_COMMAND="ssh -F none -i $KEY_FILE -o IdentitiesOnly=yes -o UserKnownHostsFile=$KNOWN_HOSTS ${STRICT_HOST_KEYS}"`;
}

/** The source clone's key: the read-only git-pull, from the tag task's workspace. */
const PULL_KEY_SETUP = sshKeySetup(GIT_PULL_SECRET);

/**
 * git's own words when a server refuses to send a commit by id: the client's fetch-pack.c
 * `report_unmatched_refs` ("Server does not allow request for unadvertised object <id>", protocol
 * v0, before asking) and the server's upload-pack.c `check_non_tip`/`receive_needs` (v0) and
 * `parse_want` (v2) ("upload-pack: not our ref <id>", shown as "fatal: remote error: upload-pack:
 * not our ref"). Only these fall back to fetching the branches; any other failure (host key,
 * deploy key, network, a deleted branch) is reported as git said it.
 */
export const FETCH_REFUSED_PATTERN = "not our ref|does not allow request for unadvertised object";

const TAG_SCRIPT = `#!/bin/sh
set -eu

# Only a full commit id may reach git: anything else could be read as an option or a moving ref.
case "$REVISION" in
  "" | *[!0-9a-f]*) echo "revision must be a full hex commit SHA, got: '$REVISION'" >&2; exit 1 ;;
esac
# A 64-character id names a commit of a SHA-256 repository: a SHA-1 repository cannot fetch it
# ("mismatched algorithms"), so the checkout is created with the server's object format.
case "\${#REVISION}" in
  40) OBJECT_FORMAT=sha1 ;;
  64) OBJECT_FORMAT=sha256 ;;
  *)
    echo "revision must be a full 40- or 64-character commit SHA, got: '$REVISION'" >&2
    exit 1
    ;;
esac
${rejectOptionLikeUrl("SOURCE_URL", PIPELINE_PARAMS.sourceUrl)}
${rejectInvalidBranch("SOURCE_BRANCH", TASK_PARAMS.sourceBranch, "a git branch name")}

${PULL_KEY_SETUP}

rm -rf "$CHECKOUT"
mkdir -p "$CHECKOUT"
cd "$CHECKOUT"
git config --global --add safe.directory "$CHECKOUT"
# --object-format needs git 2.29 or later; a SHA-1 checkout works without it on any git.
if [ "$OBJECT_FORMAT" = sha256 ]; then
  git init --quiet --object-format=sha256
else
  git init --quiet
fi
git remote add origin "$SOURCE_URL"
# The commit with its whole history and the branch's tip: patch-deployment decides by ancestry
# whether this commit is newer than the deployed one, in this checkout, without a key.
FETCH_ERRORS="$(mktemp)"
if ! git fetch --quiet origin "$REVISION" "+refs/heads/$SOURCE_BRANCH:${SOURCE_TIP_REF}" 2>"$FETCH_ERRORS"; then
  cat "$FETCH_ERRORS" >&2
  if ! grep -qE '${FETCH_REFUSED_PATTERN}' "$FETCH_ERRORS"; then
    echo "fetching commit $REVISION and branch $SOURCE_BRANCH from $SOURCE_URL failed; git said why above" >&2
    exit 1
  fi
  echo "the server refused a fetch by commit id; fetching its branches instead" >&2
  git fetch --quiet origin '+refs/heads/*:refs/remotes/origin/*'
  git update-ref "${SOURCE_TIP_REF}" "refs/remotes/origin/$SOURCE_BRANCH"
  if ! git cat-file -e "$REVISION^{commit}" 2>/dev/null; then
    echo "commit $REVISION is on no branch of $SOURCE_URL (force-pushed away?)" >&2
    exit 1
  fi
fi
rm -f "$FETCH_ERRORS"
git checkout --quiet --detach "$REVISION"

# <committer date, UTC>-<full commit id>-<run>: every build of a commit names the same commit
# and date, so a re-run never looks newer; the date only orders commits that history cannot (see
# patch-deployment), never the time a run happened to start. <run>, the first 8 hex digits of
# the TaskRun's UID, keeps a rebuild of the commit from moving a tag off the deployed digest (a
# registry may garbage-collect untagged manifests); it orders nothing.
RUN_ID="\${RUN_UID%%-*}"
case "$RUN_ID" in
  "" | *[!0-9a-f]*) RUN_ID="" ;;
esac
if [ "\${#RUN_ID}" -ne 8 ]; then
  echo "the TaskRun's UID must be a UUID, got: '$RUN_UID'" >&2
  exit 1
fi
COMMIT="$(git rev-parse HEAD)"
COMMIT_DATE="$(TZ=UTC git show -s --format=%cd --date=format-local:%Y%m%d%H%M%S HEAD)"
TAG="$COMMIT_DATE-$COMMIT-$RUN_ID"
printf '%s' "$REGISTRY_HOST/$IMAGE_REPOSITORY:$TAG" > "$(results.${TASK_RESULTS.imageUrl}.path)"
printf '%s' "$COMMIT" > "$(results.${TASK_RESULTS.commitSha}.path)"
echo "commit $COMMIT will be pushed as $REGISTRY_HOST/$IMAGE_REPOSITORY:$TAG"
`;

/** Clones `source-url` at exactly `revision` and names the image it will become. */
export function generateImageTagTask(app: AppConfig, ctx: BuildContext): Task {
  return {
    apiVersion: "tekton.dev/v1",
    kind: "Task",
    metadata: metadata(app, TASK_NAMES.tag),
    spec: {
      description:
        "Fetches the pushed commit with its history and the branch tip into the source " +
        "workspace and names its image <registry>/<repository>:<committer date>-<commit sha>.",
      params: [
        stringParam(TASK_PARAMS.sourceUrl, "SSH URL of the source repository"),
        stringParam(TASK_PARAMS.revision, "The full commit SHA to build"),
        stringParam(TASK_PARAMS.sourceBranch, "The branch the commit was pushed to"),
        stringParam(TASK_PARAMS.registryHost, "Registry host[:port] the image is pushed to"),
        stringParam(TASK_PARAMS.imageRepository, "Image repository path under the registry"),
      ],
      results: [
        {
          name: TASK_RESULTS.imageUrl,
          type: "string",
          description: "<registry>/<repository>:<tag> of the image to build",
        },
        { name: TASK_RESULTS.commitSha, type: "string", description: "The checked-out commit" },
      ],
      workspaces: [
        { name: WORKSPACES.source, description: "Receives the checkout" },
        {
          name: WORKSPACES.gitPull,
          description: `Secret ${GIT_PULL_SECRET}: the read-only source key and known_hosts`,
          readOnly: true,
        },
      ],
      stepTemplate: nonRootStepTemplate,
      steps: [
        {
          name: "clone-and-tag",
          image: ctx.images.git,
          env: [
            env("SOURCE_URL", param(TASK_PARAMS.sourceUrl)),
            env("REVISION", param(TASK_PARAMS.revision)),
            env("SOURCE_BRANCH", param(TASK_PARAMS.sourceBranch)),
            env("REGISTRY_HOST", param(TASK_PARAMS.registryHost)),
            env("IMAGE_REPOSITORY", param(TASK_PARAMS.imageRepository)),
            // Tekton substitutes it (pkg/reconciler/taskrun/resources/apply.go,
            // getContextReplacements, v1.15.0).
            env("RUN_UID", "$(context.taskRun.uid)"),
            // A subdirectory the step creates is owned by the step's UID, whoever owns the
            // volume root (git refuses a repository owned by another UID: "dubious ownership").
            env("CHECKOUT", `${workspacePath(WORKSPACES.source)}/${SOURCE_CHECKOUT_DIR}`),
            ...sshKeyEnv(WORKSPACES.gitPull),
          ],
          script: TAG_SCRIPT,
        },
      ],
    },
  };
}

/**
 * Kaniko's registry layer cache (osscontainertools/kaniko v1.28.3 cmd/executor/cmd/root.go
 * `addKanikoOptionsFlags`): `--cache` reuses a RUN layer whose cache key (the base image, the
 * instructions so far and the files they copied) matches one stored in `--cache-repo`, younger
 * than `--cache-ttl`, and pushes the layers it had to build there. Left at their defaults:
 * `--cache-run-layers` (true), `--cache-copy-layers` (false: a COPY layer is rebuilt from the
 * context cheaply, and caching it only adds a push per COPY), `--compressed-caching` (true:
 * keeps a layer's compressed bytes in memory while pushing it to the image and the cache, a
 * second gzip pass saved; a typical layer of tens of MB fits the 4Gi limit), `--use-new-run`
 * (experimental), `--single-snapshot` (one layer: nothing to cache per instruction),
 * `--cleanup` (the pod is thrown away anyway).
 *
 * The cache repository is in the build's registry: the trust flags (`--insecure-registry`,
 * `--skip-tls-verify`, `--registry-certificate`) name that host, and cache pulls and pushes
 * honour them (pkg/cache/cache.go `RegistryCache.RetrieveLayer`: `Insecure ||
 * InsecureRegistries.Contains(registry)`, transport from `util.MakeTransport` with
 * RegistriesCertificates and SkipTLSVerify(Registries); pkg/executor/push.go
 * `pushLayerToCache` pushes through `DoPush` with the same options).
 */
function cacheArgs(app: AppConfig): string[] {
  const cache = app.build.cache;
  if (!cache.enabled) return [];
  return [
    "--cache=true",
    `--cache-repo=${param(TASK_PARAMS.registryHost)}/${param(TASK_PARAMS.cacheRepository)}`,
    `--cache-ttl=${cache.ttl}`,
  ];
}

/** The Pipeline's `cache-repository` default: build.cache.repository, else <imageRepository>/cache. */
export function cacheRepository(app: AppConfig): string {
  return app.build.cache.repository ?? `${app.imageRepository}/cache`;
}

/** Writes the IMAGE_URL result (Kaniko's image has no shell to do it). */
const IMAGE_URL_SCRIPT = `#!/bin/sh
set -eu
printf '%s' "$IMAGE_URL" > "$(results.${BUILD_RESULTS.imageUrl}.path)"
`;

/**
 * The PipelineRun's `taskRunSpecs`: the build task runs as BUILD_PUSH_SERVICE_ACCOUNT when the
 * registry needs credentials, so Tekton Chains (installed by this stack or not) can push the
 * signature and attestation of the image that TaskRun built; every other task keeps the
 * run-wide account that lists nothing. Empty for an anonymous registry.
 */
export function buildTaskRunSpecs(
  registry: RegistryConfig,
): { pipelineTaskName: string; serviceAccountName: string }[] {
  return registry.username === undefined
    ? []
    : [{ pipelineTaskName: TASK_NAMES.build, serviceAccountName: BUILD_PUSH_SERVICE_ACCOUNT }];
}

/** True when the build task takes `registry-host` (for its CA, plain-HTTP flag or cache). */
export function buildTakesRegistryHost(registry: RegistryConfig, app: AppConfig): boolean {
  return registry.caCert !== undefined || registry.plainHttp || app.build.cache.enabled;
}

/**
 * Builds the checkout with Kaniko and pushes it; the pushed digest is the result.
 *
 * Registry flags, as the Kaniko fork defines them (osscontainertools/kaniko v1.28.3,
 * cmd/executor/cmd/root.go `AddRegistryOptionsFlags`): `--skip-tls-verify` "push to insecure
 * registry ignoring TLS verify" (TLS, certificate unchecked); `--insecure` "push to insecure
 * registry using plain HTTP"; `--insecure-registry` / `--skip-tls-verify-registry` the same for
 * one named registry, push and pull (pkg/executor/push.go `CheckPushPermissions`/`DoPush` test
 * `opts.Insecure || opts.InsecureRegistries.Contains(registry)`, pkg/image/remote/remote.go
 * `RetrieveRemoteImage` `opts.InsecurePull || opts.InsecureRegistries.Contains(registry)`);
 * `--registry-certificate host=path` trusts a CA for one registry.
 */
export function buildAndPushTask(app: AppConfig, ctx: BuildContext): Task {
  const { registry } = ctx;
  const checkout = `${workspacePath(WORKSPACES.source)}/${SOURCE_CHECKOUT_DIR}`;
  const params = [
    stringParam(TASK_PARAMS.imageUrl, "<registry>/<repository>:<tag> to push"),
    stringParam(TASK_PARAMS.dockerfile, "Dockerfile path, relative to the repository root"),
    stringParam(TASK_PARAMS.contextDir, "Build context directory, relative to the repository root"),
  ];
  const workspaces: Task["spec"]["workspaces"] = [
    { name: WORKSPACES.source, description: "The checkout", readOnly: true },
  ];
  const args = [
    `--dockerfile=${checkout}/${param(TASK_PARAMS.dockerfile)}`,
    `--context=${checkout}/${param(TASK_PARAMS.contextDir)}`,
    `--destination=${param(TASK_PARAMS.imageUrl)}`,
    `--digest-file=$(results.${BUILD_RESULTS.imageDigest}.path)`,
    // Always: `redo` decides which files changed by mode, mtime, size and owner instead of
    // hashing every file's content after each instruction (`full`, the default): much less I/O
    // per snapshot; `time` (mtime only) misses changes within the same second. osscontainertools/
    // kaniko v1.28.3 pkg/executor/build.go `getHasher`, pkg/util/util.go `RedoHasher`.
    "--snapshot-mode=redo",
    ...cacheArgs(app),
  ];
  const stepEnv: EnvVar[] = [];

  if (registry.username !== undefined) {
    workspaces.push({
      name: WORKSPACES.dockerConfig,
      description: "Registry credentials as config.json (Secret of type dockerconfigjson)",
      readOnly: true,
    });
    stepEnv.push(env("DOCKER_CONFIG", workspacePath(WORKSPACES.dockerConfig)));
  }
  if (buildTakesRegistryHost(registry, app)) {
    params.push(stringParam(TASK_PARAMS.registryHost, "Registry host[:port] pushed to"));
  }
  if (app.build.cache.enabled) {
    params.push(
      stringParam(TASK_PARAMS.cacheRepository, "Layer cache repository path under the registry"),
    );
  }
  if (registry.caCert !== undefined) {
    workspaces.push({
      name: WORKSPACES.registryCa,
      description: `CA bundle of the registry, key ${REGISTRY_CA_KEY}`,
      readOnly: true,
    });
    args.push(
      `--registry-certificate=${param(TASK_PARAMS.registryHost)}=${workspacePath(WORKSPACES.registryCa)}/${REGISTRY_CA_KEY}`,
    );
  }
  if (registry.insecure) args.push("--skip-tls-verify");
  // Plain HTTP for our registry only, push and pull (a FROM on it too); base images from any
  // other registry stay on verified TLS, which `--insecure` plus `--insecure-pull` would not.
  if (registry.plainHttp) args.push(`--insecure-registry=${param(TASK_PARAMS.registryHost)}`);

  return {
    apiVersion: "tekton.dev/v1",
    kind: "Task",
    metadata: metadata(app, TASK_NAMES.build, {
      [INSECURE_REGISTRY_ANNOTATION]: String(registry.insecure || registry.plainHttp),
    }),
    spec: {
      description:
        "Builds the image with Kaniko and pushes it; emits IMAGE_URL and IMAGE_DIGEST, the " +
        "results Tekton Chains signs and attests.",
      params,
      results: [
        {
          name: BUILD_RESULTS.imageUrl,
          type: "string",
          description: "<registry>/<repository>:<tag> of the pushed image",
        },
        {
          name: BUILD_RESULTS.imageDigest,
          type: "string",
          description: "sha256:... digest of the pushed image",
        },
      ],
      workspaces,
      steps: [
        {
          name: "image-url",
          image: ctx.images.git,
          env: [env("IMAGE_URL", param(TASK_PARAMS.imageUrl))],
          script: IMAGE_URL_SCRIPT,
          securityContext: nonRootSecurityContext,
        },
        {
          name: "build-and-push",
          image: ctx.images.kaniko,
          // The image's own entrypoint, named so the Tekton controller need not fetch the image
          // config from the registry to find it (an override must keep /kaniko/executor).
          command: ["/kaniko/executor"],
          args,
          ...(stepEnv.length > 0 ? { env: stepEnv } : {}),
          // Every workspace of the task, listed here so that only Kaniko mounts them (Tekton
          // pkg/workspace/apply.go `Apply`: a workspace some step lists is mounted into the
          // steps that list it only): the image-url step sees no credential and no source.
          workspaces: workspaces.map(({ name }) => ({ name })),
          // Requests and limits (config/schema.ts DEFAULT_BUILD_RESOURCES, per app
          // `build.resources`): a namespace LimitRange or quota admits the pod, and a large
          // build is OOM-killed at its limit instead of taking the node's memory.
          computeResources: {
            requests: { ...app.build.resources.requests },
            limits: { ...app.build.resources.limits },
          },
          // Kaniko must run as root: it unpacks the base image over its own root filesystem and
          // sets file ownership while building. It needs no privileged mode and no privilege
          // escalation; the default capabilities suffice.
          securityContext: {
            runAsUser: 0,
            runAsNonRoot: false,
            privileged: false,
            allowPrivilegeEscalation: false,
            seccompProfile: { type: "RuntimeDefault" },
          },
        },
      ],
    },
  };
}

/** Shell lines giving git the write key only (see sshKeySetup). */
const WRITE_KEY_SETUP = sshKeySetup(GIT_WRITE_SECRET);

const CLONE_OPERATIONS_SCRIPT = `#!/bin/sh
set -eu
${rejectOptionLikeUrl("OPERATIONS_URL", PIPELINE_PARAMS.operationsUrl)}
if [ -n "$OPERATIONS_BRANCH" ]; then
${rejectInvalidBranch("OPERATIONS_BRANCH", TASK_PARAMS.operationsBranch, "a git branch name or empty")}
fi
${WRITE_KEY_SETUP}

rm -rf "$CHECKOUT" "$PATCHED"
git config --global --add safe.directory "$CHECKOUT"
# The branch commit-and-push commits to and pushes is the one checked out here.
if [ -n "$OPERATIONS_BRANCH" ]; then
  if ! git clone --quiet --branch "$OPERATIONS_BRANCH" -- "$OPERATIONS_URL" "$CHECKOUT"; then
    echo "cloning branch '$OPERATIONS_BRANCH' of $OPERATIONS_URL failed (does the branch exist?)" >&2
    exit 1
  fi
else
  git clone --quiet -- "$OPERATIONS_URL" "$CHECKOUT"
fi
if [ ! -f "$CHECKOUT/$DEPLOYMENT_FILE" ]; then
  echo "deployment-file '$DEPLOYMENT_FILE' does not exist in $OPERATIONS_URL" >&2
  exit 1
fi
`;

/**
 * Sets the image with `kubectl set image`, which fails when the container does not exist, where a
 * strategic-merge `kubectl patch` would silently add a second, image-only container. The kubectl
 * image (Debian-based since Kubernetes 1.28) has bash; an `images.kubectl` override must provide
 * bash and kubectl on PATH (the script needs nothing else).
 *
 * Operations repositories often keep a workload and its Service (and more) in one file, and
 * `kubectl set image --local -f` fails on every document without a pod template ("the object is
 * not a pod or does not have a pod template"). So the file is split at its `---` lines in bash,
 * each document goes to kubectl on its own, and exactly one document, the workload with a
 * container of that name, is replaced by kubectl's output; every other byte of the file, the
 * separators and the other documents included, is written back as it was.
 */
const SET_IMAGE_SCRIPT = `#!/bin/bash
set -euo pipefail

# Only a digest pins what was pushed; the value also ends up in kubectl's arguments.
if [[ ! "$IMAGE_DIGEST" =~ ^sha256:[0-9a-f]{64}$ ]]; then
  echo "image-digest must be sha256:<64 lowercase hex digits>, got: '$IMAGE_DIGEST'" >&2
  exit 1
fi
# A container name is a DNS label; one starting with '-' would be read as a kubectl flag.
if [[ ! "$CONTAINER_NAME" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || [ "\${#CONTAINER_NAME}" -gt 63 ]; then
  echo "container-name must be a DNS label (a-z, 0-9, '-', at most 63 characters), got: '$CONTAINER_NAME'" >&2
  exit 1
fi

# The file as pieces: documents and the separator lines between them, byte for byte (a last
# line without a newline stays without one).
pieces=()
is_document=()
current=""
while :; do
  if IFS= read -r line; then
    eol=$'\\n'
  elif [ -n "$line" ]; then
    eol=""
  else
    break
  fi
  if [[ "$line" =~ ^---([[:space:]].*)?$ ]]; then
    pieces+=("$current" "$line$eol")
    is_document+=(yes no)
    current=""
  else
    current+="$line$eol"
  fi
  if [ -z "$eol" ]; then break; fi
done < "$CHECKOUT/$DEPLOYMENT_FILE"
pieces+=("$current")
is_document+=(yes)

# kubectl's refusals for a document that is not the one: no pod template, or no such container.
NOT_THIS_ONE='does not have a pod template|unable to find container named'
UNCHANGED_PROBE="tekton-gitlab.invalid/unchanged-probe:0"
ERRORS="$PATCHED.errors"
matches=()
problems=""
for i in "\${!pieces[@]}"; do
  if [ "\${is_document[$i]}" != yes ]; then continue; fi
  if output="$(kubectl set image --local -f - "$CONTAINER_NAME=$IMAGE_URL@$IMAGE_DIGEST" -o yaml 2>"$ERRORS" <<< "\${pieces[$i]}")"; then
    if [ -n "$output" ]; then
      matches+=("$i")
      pieces[$i]="$output"$'\\n'
    # kubectl prints nothing both for a document of comments only and for a workload that
    # already names this image (kubernetes/kubectl pkg/cmd/set/set_image.go Run: an empty patch
    # is skipped, --local included). Setting another image tells them apart; the document that
    # already names this one stays byte for byte.
    elif probe="$(kubectl set image --local -f - "$CONTAINER_NAME=$UNCHANGED_PROBE" -o yaml 2>/dev/null <<< "\${pieces[$i]}")" && [ -n "$probe" ]; then
      matches+=("$i")
    fi
  else
    errors="$(< "$ERRORS")"
    if [[ ! "$errors" =~ $NOT_THIS_ONE ]]; then
      problems+="document $(( i / 2 + 1 )): $errors"$'\\n'
    fi
  fi
done
rm -f "$ERRORS"

if [ "\${#matches[@]}" -eq 0 ]; then
  echo "no workload in $DEPLOYMENT_FILE has a container named $CONTAINER_NAME" >&2
  printf '%s' "$problems" >&2
  exit 1
fi
if [ "\${#matches[@]}" -gt 1 ]; then
  echo "\${#matches[@]} workloads in $DEPLOYMENT_FILE have a container named $CONTAINER_NAME; keep one per file so the pipeline knows which to update" >&2
  exit 1
fi
printf '%s' "\${pieces[@]}" > "$PATCHED"
`;

/**
 * Commits kubectl's output and pushes it. `kubectl set image -o yaml` re-serialises the patched
 * document, so the first pipeline commit drops its comments and reorders its keys; later ones
 * change only the image line.
 *
 * Runs of different commits race, and a run can be re-run or its webhook redelivered long after
 * a newer commit was deployed. Whether this build replaces what the file deploys is decided by
 * the source history the tag task left in the source workspace (the commit's whole history and
 * the branch tip it fetched), never by when a run happened. The deployed commit is read from the
 * image tag generate-image-tag wrote (<committer date>-<commit>): the tag travels with the image
 * reference, so a hand edit of the image cannot leave a stale record behind. For each deployed
 * build of this image repository:
 * - the same commit: nothing changes (a re-run or a redelivered webhook rolls nothing out);
 * - an ancestor of this commit: this build replaces it;
 * - a descendant of this commit: it stays, and the log says a newer commit is deployed;
 * - diverged (a force push rewrote the branch): this build replaces it only when this commit is
 *   on the branch tip the tag task fetched; otherwise this commit was itself rewritten away;
 * - unknown to this checkout: this commit's history was fetched whole, so it is not an ancestor:
 *   either it was pushed after the tag task fetched, or a force push dropped it. History cannot
 *   tell these apart; the committer dates in the tags do: this build replaces it only when this
 *   commit is on the fetched tip and was committed strictly later.
 * A file naming no build with a commit id (a first deploy, a hand-written image, a tag from an
 * older version of this pipeline) takes this build. The decision is taken again against the
 * fetched branch after every rejected push. When a rebase conflicts and the fetched file still
 * should take this build, an older run changed the same lines: this build's image replaces the
 * deployed builds in the fetched file, which keeps everything else it holds (a plain-text
 * replacement, no regex built from config).
 */
const COMMIT_AND_PUSH_SCRIPT = `#!/bin/sh
set -eu
${WRITE_KEY_SETUP}

case "$COMMIT_SHA" in
  "" | *[!0-9a-f]*) echo "commit-sha must be a hex commit id, got: '$COMMIT_SHA'" >&2; exit 1 ;;
esac
IMAGE_REPO="\${IMAGE_URL%:*}"
BUILD_TAG="\${IMAGE_URL##*:}"
BUILD_DATE="\${BUILD_TAG%%-*}"
case "$BUILD_DATE" in
  "" | *[!0-9]*) BUILD_DATE="" ;;
esac
BUILD_RUN="\${BUILD_TAG##*-}"
case "$BUILD_RUN" in
  "" | *[!0-9a-f]*) BUILD_RUN="" ;;
esac
if [ "\${#BUILD_DATE}" -ne 14 ] || [ "\${#BUILD_RUN}" -ne 8 ] || [ "$BUILD_TAG" != "$BUILD_DATE-$COMMIT_SHA-$BUILD_RUN" ]; then
  echo "image-url must end in :<committer date YYYYMMDDHHMMSS>-<commit-sha>-<run> as generate-image-tag names it, got: '$IMAGE_URL' for commit '$COMMIT_SHA'" >&2
  exit 1
fi
NEW_IMAGE="$IMAGE_URL@$IMAGE_DIGEST"

git config --global --add safe.directory "$CHECKOUT"
git config --global --add safe.directory "$SOURCE"
# The source checkout is read only here and holds every object this decision needs: no key,
# no network.
src() { git -C "$SOURCE" "$@"; }
if ! src cat-file -e "$COMMIT_SHA^{commit}" 2>/dev/null || ! src rev-parse --verify --quiet "${SOURCE_TIP_REF}" >/dev/null; then
  echo "$SOURCE does not hold commit $COMMIT_SHA and ${SOURCE_TIP_REF} as generate-image-tag leaves them" >&2
  exit 1
fi

# "<date> <commit> <reference>" of every $IMAGE_REPO build with a commit id the YAML on stdin names.
deployed_builds() {
  grep -oE "[^[:space:]\\"'=]+:[0-9]{14}-([0-9a-f]{64}|[0-9a-f]{40})(-[0-9a-f]{8})?(@sha256:[0-9a-f]{64})?" |
    while IFS= read -r ref; do
      tag="\${ref#"$IMAGE_REPO:"}"
      if [ "$tag" != "$ref" ]; then
        tag="\${tag%@*}"
        commit="\${tag#*-}"
        printf '%s %s %s\\n' "\${tag%%-*}" "\${commit%%-*}" "$ref"
      fi
    done | sort -u
}

on_fetched_tip() { src merge-base --is-ancestor "$COMMIT_SHA" "${SOURCE_TIP_REF}"; }

# Sets VERDICT to same, deploy or leave for the deployed build of commit $2, committed at $1.
judge() {
  if [ "$2" = "$COMMIT_SHA" ]; then
    VERDICT=same
  elif src cat-file -e "$2^{commit}" 2>/dev/null; then
    if src merge-base --is-ancestor "$2" "$COMMIT_SHA"; then
      VERDICT=deploy
    elif src merge-base --is-ancestor "$COMMIT_SHA" "$2"; then
      echo "$DEPLOYMENT_FILE on $BRANCH deploys commit $2, which descends from $COMMIT_SHA: a newer commit is deployed, leaving it in place"
      VERDICT=leave
    elif on_fetched_tip; then
      echo "$DEPLOYMENT_FILE on $BRANCH deploys commit $2, which is not in the history of $COMMIT_SHA (a force push?); $COMMIT_SHA is on the branch tip, replacing it"
      VERDICT=deploy
    else
      echo "$DEPLOYMENT_FILE on $BRANCH deploys commit $2; $COMMIT_SHA is neither its ancestor nor its descendant and no longer on the branch tip (rewritten by a force push?), leaving it in place"
      VERDICT=leave
    fi
  elif on_fetched_tip && [ "$1" -lt "$BUILD_DATE" ]; then
    echo "$DEPLOYMENT_FILE on $BRANCH deploys commit $2, which is not in the history of $COMMIT_SHA nor on the branch as fetched (dropped by a force push?) and was committed earlier ($1 < $BUILD_DATE); replacing it"
    VERDICT=deploy
  else
    echo "$DEPLOYMENT_FILE on $BRANCH deploys commit $2, committed at $1, which is not in the history of $COMMIT_SHA (committed at $BUILD_DATE): most likely pushed after this build fetched; leaving it in place"
    VERDICT=leave
  fi
}

# Sets DECISION to same, deploy or leave for the YAML file $1: leave when any deployed build
# stays, same when every one is this commit, deploy otherwise.
decide() {
  BUILDS="$(mktemp)"
  deployed_builds < "$1" > "$BUILDS"
  DECISION=deploy
  if [ -s "$BUILDS" ]; then
    DECISION=same
    while read -r date commit _; do
      judge "$date" "$commit"
      case "$VERDICT" in
        leave) DECISION=leave ;;
        deploy) if [ "$DECISION" = same ]; then DECISION=deploy; fi ;;
      esac
    done < "$BUILDS"
  fi
  rm -f "$BUILDS"
  if [ "$DECISION" = same ]; then
    echo "$DEPLOYMENT_FILE on $BRANCH already deploys commit $COMMIT_SHA; nothing to do"
  fi
}

# Copies stdin to stdout with every occurrence of the text $1 replaced by the text $2.
replace_text() {
  while IFS= read -r line || [ -n "$line" ]; do
    out=""
    while :; do
      case "$line" in
        *"$1"*) out="$out\${line%%"$1"*}$2"; line="\${line#*"$1"}" ;;
        *) break ;;
      esac
    done
    printf '%s\\n' "$out$line"
  done
}

cd "$CHECKOUT"
BRANCH="$(git symbolic-ref --short HEAD)"
decide "$DEPLOYMENT_FILE"
if [ "$DECISION" != deploy ]; then
  exit 0
fi
cat "$PATCHED" > "$DEPLOYMENT_FILE"
if git diff --quiet -- "$DEPLOYMENT_FILE"; then
  echo "$DEPLOYMENT_FILE already names this image; nothing to commit"
  exit 0
fi
git add -- "$DEPLOYMENT_FILE"
git commit --quiet -m "commit $COMMIT_SHA"

REMOTE_FILE="$(mktemp)"
attempt=1
while ! git push --quiet origin "HEAD:refs/heads/$BRANCH"; do
  if [ "$attempt" -ge "$PUSH_ATTEMPTS" ]; then
    echo "push to $BRANCH failed $attempt times; giving up" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  echo "push rejected; deciding again against the new $BRANCH (attempt $attempt of $PUSH_ATTEMPTS)" >&2
  git fetch --quiet origin "$BRANCH"
  git show "FETCH_HEAD:$DEPLOYMENT_FILE" > "$REMOTE_FILE" 2>/dev/null || : > "$REMOTE_FILE"
  decide "$REMOTE_FILE"
  if [ "$DECISION" != deploy ]; then
    exit 0
  fi
  if ! git rebase --quiet FETCH_HEAD; then
    git rebase --abort
    OLD_BUILDS="$(mktemp)"
    deployed_builds < "$REMOTE_FILE" | cut -d ' ' -f 3 > "$OLD_BUILDS"
    if [ ! -s "$OLD_BUILDS" ]; then
      echo "a concurrent change to $DEPLOYMENT_FILE conflicts with this one; not retrying" >&2
      exit 1
    fi
    echo "$BRANCH now deploys an older build of $IMAGE_REPO; putting this one in its place" >&2
    git reset --quiet --hard FETCH_HEAD
    while IFS= read -r old; do
      replace_text "$old" "$NEW_IMAGE" < "$DEPLOYMENT_FILE" > "$REMOTE_FILE"
      cat "$REMOTE_FILE" > "$DEPLOYMENT_FILE"
    done < "$OLD_BUILDS"
    rm -f "$OLD_BUILDS"
    if git diff --quiet -- "$DEPLOYMENT_FILE"; then
      echo "$DEPLOYMENT_FILE on $BRANCH already names this image; nothing to push"
      exit 0
    fi
    git add -- "$DEPLOYMENT_FILE"
    git commit --quiet -m "commit $COMMIT_SHA"
  fi
  sleep "$attempt"
done
rm -f "$REMOTE_FILE"
echo "pushed $(git rev-parse HEAD) to $BRANCH"
`;

/**
 * Points the Deployment's container at the pushed image by digest and pushes that to the
 * operations repository, which the GitOps tool syncs.
 */
export function patchDeploymentTask(app: AppConfig, ctx: BuildContext): Task {
  const operations = workspacePath(WORKSPACES.operations);
  const checkout = `${operations}/${OPERATIONS_CHECKOUT_DIR}`;
  const patched = `${operations}/${PATCHED_FILE}`;
  const sshEnv = () => sshKeyEnv(WORKSPACES.gitWrite);
  // Step-level workspaces (Tekton v1 Step.workspaces, beta and on by default in v1.15:
  // pkg/apis/pipeline/v1/task_validation.go validateWorkspaceUsages requires
  // enable-api-fields "beta", the default in pkg/apis/config/feature_flags.go): once a step
  // lists the workspace, pkg/workspace/apply.go mountAsIsolatedWorkspace mounts it into the
  // steps that list it only, so set-image (kubectl) never sees the write key.
  const gitWriteOnly = [{ name: WORKSPACES.gitWrite }];
  return {
    apiVersion: "tekton.dev/v1",
    kind: "Task",
    metadata: metadata(app, TASK_NAMES.patch),
    spec: {
      description:
        "Sets the container's image, by digest, in the operations repository's Deployment and " +
        "pushes the change with the write deploy key (retrying when others pushed first).",
      params: [
        stringParam(TASK_PARAMS.operationsUrl, "SSH URL of the operations repository"),
        stringParam(
          TASK_PARAMS.operationsBranch,
          "Branch to commit to and push; empty: the repository's default branch",
        ),
        stringParam(TASK_PARAMS.deploymentFile, "Deployment manifest, relative to its root"),
        stringParam(TASK_PARAMS.containerName, "Container whose image is set"),
        stringParam(TASK_PARAMS.imageUrl, "<registry>/<repository>:<tag> that was pushed"),
        stringParam(TASK_PARAMS.imageDigest, "sha256:... digest of the pushed image"),
        stringParam(
          TASK_PARAMS.commitSha,
          "Source commit: ordered against the deployed one, named in the commit message",
        ),
      ],
      workspaces: [
        { name: WORKSPACES.operations, description: "Scratch space for the operations checkout" },
        {
          name: WORKSPACES.source,
          description: "The tag task's checkout: the commit's history and the branch tip",
          readOnly: true,
        },
        {
          name: WORKSPACES.gitWrite,
          description: "Secret git-write: ssh-privatekey and known_hosts",
          readOnly: true,
        },
      ],
      stepTemplate: nonRootStepTemplate,
      steps: [
        {
          name: "clone",
          image: ctx.images.git,
          env: [
            env("OPERATIONS_URL", param(TASK_PARAMS.operationsUrl)),
            env("OPERATIONS_BRANCH", param(TASK_PARAMS.operationsBranch)),
            env("DEPLOYMENT_FILE", param(TASK_PARAMS.deploymentFile)),
            env("CHECKOUT", checkout),
            env("PATCHED", patched),
            ...sshEnv(),
          ],
          workspaces: gitWriteOnly,
          script: CLONE_OPERATIONS_SCRIPT,
        },
        {
          name: "set-image",
          image: ctx.images.kubectl,
          env: [
            env("DEPLOYMENT_FILE", param(TASK_PARAMS.deploymentFile)),
            env("CONTAINER_NAME", param(TASK_PARAMS.containerName)),
            env("IMAGE_URL", param(TASK_PARAMS.imageUrl)),
            env("IMAGE_DIGEST", param(TASK_PARAMS.imageDigest)),
            env("CHECKOUT", checkout),
            env("PATCHED", patched),
          ],
          script: SET_IMAGE_SCRIPT,
        },
        {
          name: "commit-and-push",
          image: ctx.images.git,
          env: [
            env("DEPLOYMENT_FILE", param(TASK_PARAMS.deploymentFile)),
            env("COMMIT_SHA", param(TASK_PARAMS.commitSha)),
            env("IMAGE_URL", param(TASK_PARAMS.imageUrl)),
            env("IMAGE_DIGEST", param(TASK_PARAMS.imageDigest)),
            env("CHECKOUT", checkout),
            env("PATCHED", patched),
            env("SOURCE", `${workspacePath(WORKSPACES.source)}/${SOURCE_CHECKOUT_DIR}`),
            env("PUSH_ATTEMPTS", PUSH_ATTEMPTS),
            env("GIT_AUTHOR_NAME", COMMIT_IDENTITY.name),
            env("GIT_AUTHOR_EMAIL", COMMIT_IDENTITY.email),
            env("GIT_COMMITTER_NAME", COMMIT_IDENTITY.name),
            env("GIT_COMMITTER_EMAIL", COMMIT_IDENTITY.email),
            ...sshEnv(),
          ],
          workspaces: gitWriteOnly,
          script: COMMIT_AND_PUSH_SCRIPT,
        },
      ],
    },
  };
}

/** The app's Tasks: tag, build, patch in pipeline order, then the status and cancel Tasks when on. */
export function buildTasks(app: AppConfig, ctx: BuildContext): Task[] {
  return [
    generateImageTagTask(app, ctx),
    buildAndPushTask(app, ctx),
    patchDeploymentTask(app, ctx),
    ...(app.statusReporting.enabled ? [reportBuildStatusTask(app, ctx)] : []),
    ...cancelTasks(app, ctx.images),
  ];
}
