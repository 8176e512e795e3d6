// build-and-push: Kaniko builds the checkout and pushes the image; its IMAGE_URL and IMAGE_DIGEST
// results are what Tekton Chains signs. Also what the Pipeline and the PipelineRun need to know
// about it (cache repository, registry-host param, the push ServiceAccount).
import * as path from "node:path";
import { AppConfig, RegistryConfig } from "../../config/schema";
import {
  BUILD_PUSH_SERVICE_ACCOUNT,
  INSECURE_REGISTRY_ANNOTATION,
  REGISTRY_CA_KEY,
  UNSIGNED_IMAGE_ANNOTATION,
  WORKSPACES,
} from "../core/names";
import { readScript } from "../core/scripts";
import { nonRootSecurityContext, stringParam, taskMetadata } from "../core/steps";
import { EnvVar, Step, Task, TaskResult } from "../core/types";
import { env, param, workspacePath } from "../core/variables";
import { BuildContext } from "./context";
import { BUILD_RESULTS, SOURCE_CHECKOUT_DIR, TASK_NAMES, TASK_PARAMS } from "./common";

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

/** scripts/image-url.sh writes the IMAGE_URL result (Kaniko's image has no shell to do it). */
const IMAGE_URL_SCRIPT = readScript(path.join(__dirname, "scripts"), "image-url.sh");

/**
 * The PipelineRun's `taskRunSpecs`: the build task runs as BUILD_PUSH_SERVICE_ACCOUNT when the
 * registry needs credentials, so Tekton Chains (installed by this stack or not) can push the
 * signature and attestation of the image that TaskRun built; every other task keeps the
 * run-wide account that lists nothing. Empty for an anonymous registry.
 */
export function buildTaskRunSpecs(
  registry: RegistryConfig,
  pipelineTaskName: string = TASK_NAMES.build,
): { pipelineTaskName: string; serviceAccountName: string }[] {
  return registry.username === undefined
    ? []
    : [{ pipelineTaskName, serviceAccountName: BUILD_PUSH_SERVICE_ACCOUNT }];
}

/**
 * Which Kaniko Task to build: the push build's `build-and-push` (pushes `image-url`, writes the
 * layer cache), or a merge request's (tekton/mergeRequest), which never writes the cache the
 * push builds read (`--no-push-cache`: a branch's layers must not end up in the branch's
 * deployed images) and pushes its `mr-` tag only with `mergeRequests.push`, else `--no-push`.
 * osscontainertools/kaniko v1.28.3 cmd/executor/cmd/root.go: `--no-push` needs no
 * `--destination`; pkg/executor/push.go `DoPush` still writes `--digest-file` before it returns
 * for `NoPush`, and `CheckPushPermissions` checks no target with both flags set.
 */
export type KanikoVariant =
  | { kind: "deploy" }
  | {
      kind: "merge-request";
      taskName: string;
      push: boolean;
      /** Whether a `docker-config` workspace is bound (`mergeRequests.registrySecretName`). */
      credentials: boolean;
    };

/**
 * The digest a merge request build writes. Not IMAGE_DIGEST, and no IMAGE_URL: Tekton Chains
 * signs what those results name, and a merge request's image is unreviewed code (a RUN line
 * could even rewrite a result file: every step mounts /tekton/results, pipeline v1.15.0
 * pkg/pod/pod.go `implicitVolumeMounts`).
 */
export const MERGE_REQUEST_DIGEST_RESULT = "built-digest";

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
export function buildAndPushTask(
  app: AppConfig,
  ctx: BuildContext,
  variant: KanikoVariant = { kind: "deploy" },
): Task {
  const { registry } = ctx;
  const pushes = variant.kind === "deploy" || variant.push;
  const checkout = `${workspacePath(WORKSPACES.source)}/${SOURCE_CHECKOUT_DIR}`;
  const params = [
    ...(pushes ? [stringParam(TASK_PARAMS.imageUrl, "<registry>/<repository>:<tag> to push")] : []),
    stringParam(TASK_PARAMS.dockerfile, "Dockerfile path, relative to the repository root"),
    stringParam(TASK_PARAMS.contextDir, "Build context directory, relative to the repository root"),
  ];
  const workspaces: Task["spec"]["workspaces"] = [
    { name: WORKSPACES.source, description: "The checkout", readOnly: true },
  ];
  const deploys = variant.kind === "deploy";
  const digestResult = deploys ? BUILD_RESULTS.imageDigest : MERGE_REQUEST_DIGEST_RESULT;
  const args = [
    `--dockerfile=${checkout}/${param(TASK_PARAMS.dockerfile)}`,
    `--context=${checkout}/${param(TASK_PARAMS.contextDir)}`,
    pushes ? `--destination=${param(TASK_PARAMS.imageUrl)}` : "--no-push",
    `--digest-file=$(results.${digestResult}.path)`,
    // Always: `redo` decides which files changed by mode, mtime, size and owner instead of
    // hashing every file's content after each instruction (`full`, the default): much less I/O
    // per snapshot; `time` (mtime only) misses changes within the same second. osscontainertools/
    // kaniko v1.28.3 pkg/executor/build.go `getHasher`, pkg/util/util.go `RedoHasher`.
    "--snapshot-mode=redo",
    ...cacheArgs(app),
    ...(variant.kind === "merge-request" && app.build.cache.enabled ? ["--no-push-cache"] : []),
  ];
  const stepEnv: EnvVar[] = [];

  if (deploys ? registry.username !== undefined : variant.credentials) {
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

  const kaniko: Step = {
    name: pushes ? "build-and-push" : "build",
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
  };
  const results: TaskResult[] = deploys
    ? [
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
      ]
    : [
        {
          name: MERGE_REQUEST_DIGEST_RESULT,
          type: "string",
          description: "sha256:... of the image built (not signed: a merge request's)",
        },
      ];
  const imageUrlStep: Step = {
    name: "image-url",
    image: ctx.images.git,
    env: [env("IMAGE_URL", param(TASK_PARAMS.imageUrl))],
    script: IMAGE_URL_SCRIPT,
    securityContext: nonRootSecurityContext,
  };

  return {
    apiVersion: "tekton.dev/v1",
    kind: "Task",
    metadata: taskMetadata(app, deploys ? TASK_NAMES.build : variant.taskName, {
      [INSECURE_REGISTRY_ANNOTATION]: String(registry.insecure || registry.plainHttp),
      ...(deploys ? {} : { [UNSIGNED_IMAGE_ANNOTATION]: "true" }),
    }),
    spec: {
      description:
        variant.kind === "deploy"
          ? "Builds the image with Kaniko and pushes it; emits IMAGE_URL and IMAGE_DIGEST, the " +
            "results Tekton Chains signs and attests."
          : pushes
            ? "Builds a merge request's image with Kaniko and pushes only its mr- tag; never " +
              "writes the layer cache."
            : "Builds a merge request's image with Kaniko without pushing it or the layer cache.",
      params,
      results,
      workspaces,
      // A merge request's image URL is its fetch task's result: no step writes IMAGE_URL.
      steps: deploys ? [imageUrlStep, kaniko] : [kaniko],
    },
  };
}
