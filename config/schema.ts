// The stack's config contract (namespace `tekton-gitlab:`), as a zod schema: one place that says
// what every key accepts, its default, and the error a user sees when a value is wrong.
import { z } from "zod";
import * as v from "./validators";
import { DEFAULT_IMAGES } from "./images";

/** Attaches a predicate that returns an error text (or undefined) to a string schema. */
function checked(predicate: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const error = predicate(value);
    if (error) ctx.addIssue({ code: "custom", message: `expected ${error}` });
  });
}

function matching(pattern: RegExp, expected: string, maxLength = Infinity) {
  return checked((value) =>
    pattern.test(value) && value.length <= maxLength ? undefined : expected,
  );
}

const dnsLabel = matching(
  v.DNS_LABEL,
  "a DNS label (lower case letters, digits and '-', at most 63 characters)",
  63,
);
const hostname = matching(v.HOSTNAME, "a DNS host name (lower case, e.g. builds.example.com)");
const projectPath = matching(
  v.PROJECT_PATH,
  "a GitLab project path such as group/project (without .git or a URL)",
).refine((value) => !value.endsWith(".git"), {
  message: "expected a GitLab project path without the .git suffix",
});
const pinnedImage = checked(v.pinnedImageError);

/**
 * GitLab's longest access token lifetime, in days (app/models/personal_access_token.rb
 * MAX_PERSONAL_ACCESS_TOKEN_LIFETIME_IN_DAYS; an instance may set less).
 */
export const MAX_TOKEN_LIFETIME_DAYS = 365;
export const DEFAULT_TOKEN_LIFETIME_DAYS = MAX_TOKEN_LIFETIME_DAYS;
export const DEFAULT_ROTATE_BEFORE_DAYS = 30;

/**
 * `apps[].statusReporting`: `true` / `false` (read as `{ enabled }`) or the object. Whether it
 * may be on without `tokenSecretName` depends on manageDeployKeys: load.ts crossChecks.
 */
const statusReportingSchema = z.preprocess(
  (value) => (typeof value === "boolean" ? { enabled: value } : value),
  z
    .strictObject(
      {
        enabled: z.boolean().optional(),
        /**
         * An existing Secret in the build namespace whose key `token` holds a GitLab token (api
         * scope, at least Developer on the source project): no managed token then.
         */
        tokenSecretName: matching(
          v.HOSTNAME,
          "a Secret name: a DNS subdomain (lower case letters, digits, '-' and '.', at most 253 characters)",
        ).optional(),
        /** Lifetime of the managed token; GitLab's maximum is 365 days. */
        tokenLifetimeDays: z
          .number({ error: "expected a whole number of days" })
          .int({ error: "expected a whole number of days" })
          .min(2, { error: "expected at least 2 days" })
          .max(MAX_TOKEN_LIFETIME_DAYS, {
            error: `expected at most ${MAX_TOKEN_LIFETIME_DAYS} days (GitLab's longest access token lifetime)`,
          })
          .optional(),
        /**
         * Role of the managed token. `developer` (default) is the least that may post a commit
         * status, but GitLab accepts a status on a branch only from a user who may push or merge
         * there (app/policies/ci/pipeline_policy.rb `protected_ref`): for a branch only
         * Maintainers may merge into (GitLab's default protection of the default branch), allow
         * Developers to merge, or choose `maintainer` here.
         */
        tokenAccessLevel: z
          .enum(["developer", "maintainer"], { error: "expected developer or maintainer" })
          .optional(),
        /** Rotate the managed token on the first `pulumi up` this many days before it expires. */
        rotateBeforeDays: z
          .number({ error: "expected a whole number of days" })
          .int({ error: "expected a whole number of days" })
          .min(1, { error: "expected at least 1 day" })
          .optional(),
      },
      {
        error:
          "expected true, false or an object { enabled, tokenSecretName, tokenLifetimeDays, rotateBeforeDays, tokenAccessLevel }",
      },
    )
    .superRefine((given, ctx) => {
      const lifetime = given.tokenLifetimeDays ?? DEFAULT_TOKEN_LIFETIME_DAYS;
      const before = given.rotateBeforeDays ?? DEFAULT_ROTATE_BEFORE_DAYS;
      if (
        given.rotateBeforeDays !== undefined &&
        Number.isInteger(before) &&
        Number.isInteger(lifetime) &&
        before >= lifetime
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["rotateBeforeDays"],
          message: `expected fewer days than the token's lifetime (tokenLifetimeDays: ${lifetime})`,
        });
      }
      if (given.tokenSecretName !== undefined) {
        for (const key of ["tokenLifetimeDays", "rotateBeforeDays", "tokenAccessLevel"] as const) {
          if (given[key] !== undefined) {
            ctx.addIssue({
              code: "custom",
              path: [key],
              message:
                "applies only to the token the stack manages; with tokenSecretName the token in that Secret is yours to rotate: remove one of the two",
            });
          }
        }
      }
    }),
);

/**
 * What the Kaniko step asks for unless an app says otherwise. Kaniko itself needs little (the
 * executor, a Go binary, plus the layer it is snapshotting); the Dockerfile's RUN lines dominate:
 * a pip or npm install of a typical service peaks well under 1Gi, compiling C extensions or a
 * JVM/Go build goes to 2-3Gi. So: request 1Gi (what the scheduler reserves: a typical build
 * fits), limit 4Gi (headroom for the heavy ones, but a runaway build is OOM-killed instead of
 * taking the node's memory). CPU: request half a core; no CPU limit by default (it only
 * throttles, it protects nothing), set `limits.cpu` where a ResourceQuota on limits.cpu needs it.
 */
export const DEFAULT_BUILD_RESOURCES = {
  requests: { cpu: "500m", memory: "1Gi" },
  limits: { memory: "4Gi" },
} as const;

const resourceList = z.strictObject({
  cpu: checked(v.cpuQuantityError).optional(),
  memory: checked(v.memoryQuantityError).optional(),
});

/** `build.resources`: the app's values over DEFAULT_BUILD_RESOURCES, key by key. */
const buildResources = z
  .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
  .superRefine((given, ctx) => {
    // The API server rejects a pod whose request is above its limit. The problem is reported
    // on the key the app set (a default on the other side is named as such).
    const defaults: Record<string, Record<string, string>> = DEFAULT_BUILD_RESOURCES;
    for (const name of ["cpu", "memory"] as const) {
      const givenRequest = given.requests?.[name];
      const givenLimit = given.limits?.[name];
      if (givenRequest === undefined && givenLimit === undefined) continue;
      const request = givenRequest ?? defaults.requests[name];
      const limit = givenLimit ?? defaults.limits[name];
      const requestValue = request === undefined ? undefined : v.quantityValue(request);
      const limitValue = limit === undefined ? undefined : v.quantityValue(limit);
      if (requestValue === undefined || limitValue === undefined || requestValue <= limitValue) {
        continue;
      }
      ctx.addIssue(
        givenRequest !== undefined
          ? {
              code: "custom",
              path: ["requests", name],
              message: `expected at most limits.${name} (${limit}${givenLimit === undefined ? ", the default" : ""}), got ${request}`,
            }
          : {
              code: "custom",
              path: ["limits", name],
              message: `expected at least requests.${name} (${request}, the default), got ${limit}`,
            },
      );
    }
  })
  .transform((given) => ({
    requests: { ...DEFAULT_BUILD_RESOURCES.requests, ...given.requests } as Record<string, string>,
    limits: { ...DEFAULT_BUILD_RESOURCES.limits, ...given.limits } as Record<string, string>,
  }));

/** A Go duration above zero (Kaniko and Tekton read zero as "never"/"no timeout"). */
const positiveDuration = (example: string) =>
  matching(v.GO_DURATION, `a duration such as ${example}`).refine((value) => /[1-9]/.test(value), {
    message: `expected a duration above zero, such as ${example}`,
  });

/**
 * How long Kaniko reuses a cached layer (`--cache-ttl`; Kaniko's own default is 336h, two
 * weeks). A week: a cached `RUN apt-get install`/`pip install` layer keeps the package
 * versions it was built with until it expires, so a shorter TTL picks up security fixes sooner;
 * a longer one saves a little more time.
 */
export const DEFAULT_CACHE_TTL = "168h";

/**
 * Tekton Chains release installed with `tekton.chains.install`: the newest tag of
 * tektoncd/chains confirmed (git tag list of the repository: v0.29.2).
 */
export const DEFAULT_CHAINS_VERSION = "v0.29.2";

export const chainsSchema = z.strictObject({
  /** true: install Tekton Chains, configured to sign with a key the stack makes. */
  install: z.boolean().default(false),
  version: matching(v.RELEASE_VERSION, "a release version vX.Y.Z").default(DEFAULT_CHAINS_VERSION),
  /** Any string; changing it replaces the signing key (like apps[].keyRotation for SSH keys). */
  keyRotation: z.string().min(1).optional(),
});

/**
 * Tekton Pruner release installed with Pipelines (`tekton.pruner.install`): the newest tag of
 * tektoncd/pruner confirmed (git tag list of the repository: v0.4.1, on release-v0.4.x; the
 * release pipeline publishes to the bucket before the GitHub release that creates the tag,
 * tekton/release-pipeline.yaml `publish-to-bucket` then `create-draft-release`).
 */
export const DEFAULT_PRUNER_VERSION = "v0.4.1";

/**
 * Tekton Dashboard release installed with `tekton.dashboard.install`: the newest tag of
 * tektoncd/dashboard confirmed (v0.71.0, releases.md "Latest Release").
 */
export const DEFAULT_DASHBOARD_VERSION = "v0.71.0";

/**
 * The most runs of one kind a namespace may keep, and the longest TTL: what the pruner's
 * webhook accepts in a namespace-level config under the global config this stack sets
 * (tektoncd/pruner v0.4.1 pkg/config/config.go `validatePrunerConfig`: a namespace limit may
 * not exceed the global `historyLimit`, tekton/cluster/pruner.ts keeps the release's 100 there; with no
 * global TTL a namespace TTL may not exceed `MaxTTLSecondsAfterFinished`, 30 days,
 * pkg/config/constants.go).
 */
export const MAX_RETENTION_HISTORY = 100;
export const MAX_RETENTION_TTL_SECONDS = 2592000;

const historyLimit = (fallback: number) =>
  z
    .number()
    .int()
    .min(0, { message: "expected 0 or more runs (0 keeps none)" })
    .max(MAX_RETENTION_HISTORY, {
      message: `expected at most ${MAX_RETENTION_HISTORY} runs (the cluster-wide historyLimit the pruner's webhook enforces)`,
    })
    .default(fallback);

/**
 * `apps[].retention`: how many finished PipelineRuns the Tekton Pruner keeps in the app's build
 * namespace. Key names are the pruner's own (tektoncd/pruner v0.4.1 pkg/config/config.go
 * `PrunerConfig` yaml tags), written as they are into the namespace's `ns-config`.
 */
export const retentionSchema = z.strictObject({
  /** Newest successful runs kept (default 10). */
  successfulHistoryLimit: historyLimit(10),
  /** Newest failed runs kept (default 20: failures are what one debugs). */
  failedHistoryLimit: historyLimit(20),
  /** Delete a finished run this many seconds after it ends, whatever the limits; unset: never. */
  ttlSecondsAfterFinished: z
    .number()
    .int()
    .min(1, { message: "expected at least 1 second" })
    .max(MAX_RETENTION_TTL_SECONDS, {
      message: `expected at most ${MAX_RETENTION_TTL_SECONDS} seconds (30 days, the pruner's maximum for a namespace)`,
    })
    .optional(),
});

export const prunerSchema = z.strictObject({
  /**
   * true (default): install the Tekton Pruner with Pipelines and give each build namespace a
   * retention config. Only with `tekton.install: true` (load.ts).
   */
  install: z.boolean().default(true),
  version: matching(v.RELEASE_VERSION, "a release version vX.Y.Z").default(DEFAULT_PRUNER_VERSION),
});

export const dashboardSchema = z
  .strictObject({
    /** true: install the read-only Tekton Dashboard release (`release.yaml`). */
    install: z.boolean().default(false),
    version: matching(v.RELEASE_VERSION, "a release version vX.Y.Z").default(
      DEFAULT_DASHBOARD_VERSION,
    ),
    /** Base URL of the dashboard for status links; unset: `https://<ingress.host>`. */
    url: checked(v.dashboardUrlError).optional(),
    /** An Ingress the stack creates for the dashboard Service, always with TLS. */
    ingress: z
      .strictObject({
        host: hostname,
        className: dnsLabel.optional(),
        /** TLS Secret in `tekton-pipelines` for host; required: never exposed without TLS. */
        tlsSecretName: dnsLabel.optional(),
        /** E.g. ingress-nginx auth-url/auth-signin for an authenticating proxy (README). */
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .optional(),
  })
  .superRefine((dashboard, ctx) => {
    if (dashboard.ingress !== undefined && dashboard.ingress.tlsSecretName === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["ingress", "tlsSecretName"],
        message:
          "required with dashboard.ingress: the dashboard is never exposed without TLS. Name the TLS Secret for ingress.host in tekton-pipelines (cert-manager's ingress-shim creates it from this name)",
      });
    }
    if (dashboard.ingress !== undefined && !dashboard.install) {
      ctx.addIssue({
        code: "custom",
        path: ["ingress"],
        message:
          "expected dashboard.install: true: the Ingress routes to the dashboard this stack installs; for a dashboard installed otherwise set dashboard.url only",
      });
    }
  });

export const tektonSchema = z.strictObject({
  /** false: the cluster already has Tekton; install nothing. */
  install: z.boolean().default(true),
  pipelinesVersion: matching(v.RELEASE_VERSION, "a release version vX.Y.Z").default("v1.15.0"),
  triggersVersion: matching(v.RELEASE_VERSION, "a release version vX.Y.Z").default("v0.37.0"),
  /** Release mirror (http/https) or a local directory with the same layout. */
  releaseBaseUrl: checked(v.releaseBaseError)
    .transform((value) => value.replace(/\/+$/, ""))
    .default("https://infra.tekton.dev/tekton-releases"),
  /** Tekton Chains: signed provenance for every build. Off by default. */
  chains: chainsSchema.prefault({}),
  /** Tekton Pruner: deletes old PipelineRuns (and so their PVCs) per `apps[].retention`. */
  pruner: prunerSchema.prefault({}),
  /** Tekton Dashboard (read-only), the target of status links. Off by default. */
  dashboard: dashboardSchema.prefault({}),
});

export const gitSshSchema = z
  .strictObject({
    host: hostname,
    port: z
      .number()
      .refine(v.validPort, { message: "expected a port between 1 and 65535" })
      .default(22),
    knownHosts: z.string().superRefine((text, ctx) => {
      for (const error of v.parseKnownHosts(text).errors) {
        ctx.addIssue({ code: "custom", message: `expected known_hosts lines; ${error}` });
      }
    }),
  })
  .superRefine((ssh, ctx) => {
    const { entries, errors } = v.parseKnownHosts(ssh.knownHosts);
    if (errors.length === 0 && !v.knownHostsCovers(entries, ssh.host, ssh.port)) {
      ctx.addIssue({
        code: "custom",
        path: ["knownHosts"],
        message: `expected an entry for ${v.knownHostsName(ssh.host, ssh.port)} (the configured host and port); builds would fail host key verification`,
      });
    }
  });

export const registrySchema = z
  .strictObject({
    host: checked(v.registryHostError),
    /** With `tekton-gitlab:registryPassword` (secret): the build pushes with these credentials. */
    username: z.string().min(1).optional(),
    /** PEM CA bundle the build trusts for this registry. */
    caCert: checked(v.pemCertificatesError).optional(),
    /** true only by explicit choice: the build skips TLS verification for this registry. */
    insecure: z.boolean().default(false),
    /** true only by explicit choice: the registry speaks plain HTTP (no TLS at all). */
    plainHttp: z.boolean().default(false),
  })
  .superRefine((registry, ctx) => {
    if (registry.plainHttp && registry.caCert !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["plainHttp"],
        message:
          "expected plainHttp: false with registry.caCert: plain HTTP uses no TLS, so no CA; remove caCert or plainHttp",
      });
    }
  });

export const imagesSchema = z.strictObject({
  git: pinnedImage.default(DEFAULT_IMAGES.git),
  kaniko: pinnedImage.default(DEFAULT_IMAGES.kaniko),
  kubectl: pinnedImage.default(DEFAULT_IMAGES.kubectl),
  curl: pinnedImage.default(DEFAULT_IMAGES.curl),
});

/** `apps[].mergeRequests.retestComment` unless set (Pipelines-as-Code's word). */
export const DEFAULT_RETEST_COMMENT = "/retest";

export const appSchema = z.strictObject({
  /** Also the prefix of Tekton object names and `el-<name>` Services, hence RFC 1035 and short. */
  name: matching(
    v.DNS_1035_LABEL,
    "a DNS-1035 label (lower case letter first, then letters, digits, '-'; at most 40 characters)",
    40,
  ),
  namespace: dnsLabel.optional(),
  sourceProject: projectPath,
  operationsProject: projectPath,
  branch: checked(v.branchNameError).default("main"),
  contextDir: checked(v.repoPathError).default("."),
  dockerfile: checked(v.repoPathError).optional(),
  imageRepository: matching(
    v.IMAGE_REPOSITORY,
    "an image repository path under registry.host, lower case (e.g. team/service)",
  ),
  deploymentFile: checked(v.repoPathError),
  /** Branch of the operations repository the patch task commits to; unset: its default branch. */
  operationsBranch: checked(v.branchNameError).optional(),
  containerName: dnsLabel,
  /** false: create no GitLab resources; public keys and webhook details are exported instead. */
  manageDeployKeys: z.boolean().default(true),
  /** RSA (4096 bits) only for GitLab instances that do not accept ED25519 deploy keys. */
  keyAlgorithm: z.enum(["ED25519", "RSA"]).default("ED25519"),
  /** Any string; changing it replaces both keypairs and their deploy keys. */
  keyRotation: z.string().min(1).optional(),
  /**
   * Build status on the commit and merge request in GitLab: `true`, `false` or an object.
   * Unset: on when the stack manages the app's GitLab resources (manageDeployKeys), with a
   * project access token it creates. Resolved in load.ts into StatusReporting.
   */
  statusReporting: statusReportingSchema.optional(),
  /** Finished runs the Tekton Pruner keeps; defaults apply whenever the stack installs it. */
  retention: retentionSchema.optional(),
  build: z
    .strictObject({
      /** Requests and limits of the Kaniko step; unset keys keep DEFAULT_BUILD_RESOURCES. */
      resources: buildResources.prefault({}),
      /**
       * Kaniko's registry layer cache (`--cache`): on unless `enabled: false`. The cache
       * repository sits in the same registry as the image (same credentials, same trust).
       */
      cache: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Repository path under registry.host; unset: `<imageRepository>/cache`. */
          repository: matching(
            v.IMAGE_REPOSITORY,
            "an image repository path under registry.host, lower case (e.g. team/service/cache)",
          ).optional(),
          ttl: positiveDuration("168h").default(DEFAULT_CACHE_TTL),
        })
        .prefault({}),
    })
    .prefault({}),
  pipelineRun: z
    .strictObject({
      workspaceSize: matching(v.STORAGE_QUANTITY, "a storage quantity such as 1Gi").default("1Gi"),
      storageClassName: dnsLabel.optional(),
      timeout: matching(v.GO_DURATION, "a duration such as 1h or 45m")
        // Tekton reads a zero timeout as "no timeout": a stuck build would hold its PVC forever.
        .refine((value) => /[1-9]/.test(value), {
          message: "expected a duration above zero, such as 1h",
        })
        .default("1h"),
    })
    .prefault({}),
  /**
   * Cancel-in-progress: a push's run cancels the older runs of the same app and branch still
   * running in the build namespace (tekton/cancel/cancelTask.ts). false: no cancel task, no
   * ServiceAccount, no Role.
   */
  cancelSuperseded: z.boolean().default(true),
  /**
   * Merge-request builds (tekton/mergeRequest): the head commit of every merge request from a
   * branch of the source project is built and reported on the merge request, never deployed.
   * Unset or `build: false`: none of it exists.
   */
  mergeRequests: z
    .strictObject({
      build: z.boolean().default(false),
      /** false: Kaniko builds with --no-push; true: pushes only `<image>:mr-<iid>-<12 hex>`. */
      push: z.boolean().default(false),
      /** A comment that is exactly this (surrounding whitespace ignored) builds the MR again. */
      retestComment: checked(v.retestCommentError).default(DEFAULT_RETEST_COMMENT),
      /**
       * An existing Secret (kubernetes.io/dockerconfigjson) in the build namespace that merge
       * request builds pull (and, with push, push) with. Unset: they get no registry
       * credentials at all; never the push build's `registry-credentials` unless named here,
       * because a merge request's Dockerfile RUN lines can read what Kaniko mounts.
       */
      registrySecretName: matching(
        v.HOSTNAME,
        "a Secret name: a DNS subdomain (lower case letters, digits, '-' and '.', at most 253 characters)",
      ).optional(),
    })
    .prefault({}),
});

/** Default namespace of the shared EventListener (`tekton-gitlab:listener.namespace`). */
export const DEFAULT_LISTENER_NAMESPACE = "tekton-gitlab-listener";

/**
 * `tekton-gitlab:listener`: the one EventListener every app's GitLab hook posts to, with its
 * webhook host, Ingress and TLS. Replaces the per-app `webhookHost`, `ingress` and `webhook`.
 */
export const listenerSchema = z
  .strictObject({
    /** The one webhook host (required when there is at least one app; checked in load.ts). */
    host: hostname.optional(),
    /** Namespace of the shared EventListener, its ServiceAccount, Service and Ingress. */
    namespace: dnsLabel.default(DEFAULT_LISTENER_NAMESPACE),
    ingress: z
      .strictObject({
        className: dnsLabel.optional(),
        /**
         * The TLS Secret (in listener.namespace) the Ingress serves for host (cert-manager's
         * ingress-shim issues into this name). Required while webhook.tls is on, unless the
         * opt-in below.
         */
        tlsSecretName: dnsLabel.optional(),
        /**
         * true: serve the ingress controller's default certificate (e.g. ingress-nginx
         * `--default-ssl-certificate`). Only when that default is a real certificate GitLab
         * trusts: ingress-nginx's built-in one is self-signed.
         */
        useControllerDefaultCertificate: z.boolean().default(false),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .prefault({}),
    /**
     * true: a ValidatingAdmissionPolicy per app lets the listener create only the PipelineRun
     * the app's TriggerTemplate renders (tekton/listener/listenerAdmission.ts); needs Kubernetes 1.30+
     * (admissionregistration.k8s.io/v1). false (older clusters) leaves a compromised listener
     * able to create a run that reads an app's keys.
     */
    admissionPolicy: z.boolean().default(true),
    webhook: z
      .strictObject({
        /** false only when the Ingress really serves plain http. */
        tls: z.boolean().default(true),
        sslVerification: z.boolean().default(true),
      })
      .prefault({}),
  })
  // Without a TLS Secret an Ingress controller serves its fallback certificate (ingress-nginx:
  // a self-signed "Kubernetes Ingress Controller Fake Certificate"); GitLab verifies webhook
  // certificates by default and drops every delivery, so nothing would ever build.
  .superRefine((listener, ctx) => {
    const { tlsSecretName, useControllerDefaultCertificate } = listener.ingress;
    if (useControllerDefaultCertificate && tlsSecretName !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["ingress", "useControllerDefaultCertificate"],
        message:
          "expected either ingress.tlsSecretName or ingress.useControllerDefaultCertificate: true, not both",
      });
    }
    // With sslVerification: false GitLab accepts any certificate: that opt-out is explicit.
    // No host (a stack without apps): no Ingress, nothing to serve.
    const verified =
      listener.host !== undefined && listener.webhook.tls && listener.webhook.sslVerification;
    if (verified && tlsSecretName === undefined && !useControllerDefaultCertificate) {
      ctx.addIssue({
        code: "custom",
        path: ["ingress", "tlsSecretName"],
        message:
          "required while webhook.tls is on: without it the ingress controller serves its fallback (usually self-signed) certificate and GitLab refuses every delivery. Name the TLS Secret for listener.host (cert-manager's ingress-shim creates it from this name), or set ingress.useControllerDefaultCertificate: true when the controller's default certificate is trusted, or webhook.tls: false for a plain-http Ingress (webhook.sslVerification: false accepts any certificate, for a lab only)",
      });
    }
  });

/** Everything under `tekton-gitlab:`, one property per config key. */
export const stackConfigSchema = z.strictObject({
  tekton: tektonSchema.prefault({}),
  gitSsh: gitSshSchema,
  registry: registrySchema,
  registryPassword: z.string().min(1, { message: "expected a non-empty password" }).optional(),
  images: imagesSchema.prefault({}),
  listener: listenerSchema.prefault({}),
  apps: z.array(appSchema),
});

type ParsedConfig = z.output<typeof stackConfigSchema>;
type ParsedApp = z.output<typeof appSchema>;

/**
 * The Secret (kubernetes.io/dockerconfigjson, in the build namespace) the stack creates for the
 * registry when a username is configured; config checks that merge request builds are not given
 * it carelessly (load.ts).
 */
export const REGISTRY_SECRET = "registry-credentials";

/** The Secret (in the build namespace) the status tasks read the GitLab token from. */
export const STATUS_TOKEN_SECRET = "gitlab-status-token";
/** The Secret's key holding the token. */
export const STATUS_TOKEN_KEY = "token";

/** `apps[].statusReporting`, resolved. */
export type StatusReporting =
  | { enabled: false }
  | {
      enabled: true;
      /** The commit status `name` in GitLab, e.g. `tekton/<app>`. */
      context: string;
      /** Secret in the build namespace, key STATUS_TOKEN_KEY. */
      secretName: string;
      /** Set when the stack creates the project access token; unset: an existing Secret. */
      managedToken?: {
        lifetimeDays: number;
        rotateBeforeDays: number;
        accessLevel: "developer" | "maintainer";
      };
    };

/** An app with every default resolved. */
export type AppConfig = Omit<ParsedApp, "statusReporting" | "retention"> & {
  namespace: string;
  dockerfile: string;
  statusReporting: StatusReporting;
  /**
   * The namespace's pruner config; unset when the stack installs no pruner and the app sets
   * no `retention` (load.ts `resolveRetention`).
   */
  retention?: RetentionConfig;
};
export type RetentionConfig = z.output<typeof retentionSchema>;
export type TektonConfig = ParsedConfig["tekton"];
export type GitSshConfig = ParsedConfig["gitSsh"];
export type RegistryConfig = ParsedConfig["registry"];
export type ImagesConfig = ParsedConfig["images"];
/** The shared listener's config; `host` is set whenever there is an app (load.ts checks it). */
export type ListenerConfig = ParsedConfig["listener"];

/**
 * Where the build's status steps reach GitLab's API, from `gitlab:baseUrl` (or env
 * GITLAB_BASE_URL), `gitlab:cacertFile` and `gitlab:insecure`: the keys the stack's own GitLab
 * provider reads (components/gitlab/providerConfig.ts). Resolved by config/gitlabEndpoint.ts.
 */
export interface GitLabEndpoint {
  /** `<instance>/api/v4`, no trailing slash. */
  apiUrl: string;
  /** PEM text of gitlab:cacertFile: the CA the status steps trust for GitLab. */
  caCert?: string;
  /** gitlab:insecure: the status steps skip TLS verification. */
  insecure: boolean;
}

/** The validated config, plain values only (the registry password stays outside: it is secret). */
export interface ValidatedConfig {
  tekton: TektonConfig;
  gitSsh: GitSshConfig;
  registry: RegistryConfig;
  images: ImagesConfig;
  listener: ListenerConfig;
  apps: AppConfig[];
  /** GitLab's API for the status steps; unset when GitLab is not configured. */
  gitlab?: GitLabEndpoint;
  /** True when `tekton-gitlab:registryPassword` is set. */
  hasRegistryPassword: boolean;
}

/** Config keys the stack reads under `tekton-gitlab:`. */
export const CONFIG_KEYS = Object.keys(stackConfigSchema.shape);

/** Which config keys hold structured (YAML object/list) values rather than strings. */
export const STRUCTURED_KEYS = new Set([
  "tekton",
  "gitSsh",
  "registry",
  "images",
  "listener",
  "apps",
]);
