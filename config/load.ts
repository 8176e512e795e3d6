// Reads and validates the stack config before any resource is registered. Every problem is
// reported at once, each with the full config key, so one `pulumi preview` shows them all.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
  AppConfig,
  CONFIG_KEYS,
  DEFAULT_LISTENER_NAMESPACE,
  RetentionConfig,
  DEFAULT_ROTATE_BEFORE_DAYS,
  DEFAULT_TOKEN_LIFETIME_DAYS,
  REGISTRY_SECRET,
  STATUS_TOKEN_SECRET,
  STRUCTURED_KEYS,
  StatusReporting,
  ValidatedConfig,
  retentionSchema,
  stackConfigSchema,
} from "./schema";
import { resolveGitLabEndpoint } from "./gitlabEndpoint";

export const NAMESPACE = "tekton-gitlab";

/**
 * Thrown with every config problem found; the message lists them one per line. A RunError, so
 * Pulumi prints the list without a stack trace under it.
 */
export class ConfigError extends pulumi.RunError {
  constructor(public readonly problems: string[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((problem) => `  - ${problem}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** `["apps", 1, "namespace"]` -> `tekton-gitlab:apps[1].namespace` */
export function configKey(path: readonly PropertyKey[]): string {
  let key = NAMESPACE + ":";
  path.forEach((part, index) => {
    if (typeof part === "number") key += `[${part}]`;
    else key += index === 0 ? String(part) : `.${String(part)}`;
  });
  return key;
}

/**
 * Per-app keys the shared listener replaced (one EventListener, one host for every app): each
 * names the `tekton-gitlab:listener` key that now holds it.
 */
const REPLACED_APP_KEYS: Record<string, string> = {
  webhookHost: `${NAMESPACE}:listener.host`,
  ingress: `${NAMESPACE}:listener.ingress`,
  webhook: `${NAMESPACE}:listener.webhook`,
};

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string[] {
  if (issue.code === "unrecognized_keys") {
    const known = knownKeysAt(issue.path);
    const inApp = issue.path.length === 2 && issue.path[0] === "apps";
    return issue.keys.map((key) => {
      if (inApp && key in REPLACED_APP_KEYS) {
        return `${configKey([...issue.path, key])}: no longer a per-app key: every app shares one listener; set ${REPLACED_APP_KEYS[key]} instead (once for all apps) and remove this key`;
      }
      const hint = closest(key, known);
      return `${configKey([...issue.path, key])}: unknown key${hint ? ` (did you mean ${hint}?)` : " (a typo?)"}`;
    });
  }
  const key = configKey(issue.path);
  // A cross-field check may name a key that is absent on purpose ("required while ..."): its
  // own message says what is expected.
  if (issue.code === "custom" && valueAt(input, issue.path) === undefined) {
    return [`${key}: ${issue.message}`];
  }
  if (valueAt(input, issue.path) === undefined) {
    return [`${key}: required value is missing`];
  }
  if (issue.code === "invalid_type") {
    // A schema's own message ("expected true, false or an object ...") says more than the type.
    const own = issue.message.startsWith("expected ") ? issue.message : undefined;
    return [`${key}: ${own ?? `expected ${issue.expected}`}`];
  }
  return [`${key}: ${issue.message}`];
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (value, part) =>
      value !== null && typeof value === "object"
        ? (value as Record<PropertyKey, unknown>)[part]
        : undefined,
    input,
  );
}

/** The keys the schema accepts at a path, for "did you mean" hints. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = stackConfigSchema;
  for (const part of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) schema = schema.shape[part as string];
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else return [];
    if (!schema) return [];
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  while (
    current instanceof z.ZodDefault ||
    current instanceof z.ZodPrefault ||
    current instanceof z.ZodOptional ||
    current instanceof z.ZodPipe
  ) {
    // z.preprocess is a pipe from a transform into the schema that checks the value.
    current = (
      current instanceof z.ZodPipe
        ? current.in instanceof z.ZodTransform
          ? current.out
          : current.in
        : current.unwrap()
    ) as z.ZodType;
  }
  return current;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = levenshtein(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

/** Namespaces the Tekton Pruner leaves alone (see crossChecks). */
function isPrunerExcludedNamespace(namespace: string): boolean {
  return (
    namespace.startsWith("kube-") ||
    namespace.startsWith("openshift-") ||
    namespace === "tekton-pipelines" ||
    namespace === "tekton-operator"
  );
}

/** An app's build namespace unless `apps[].namespace` names one. */
const defaultNamespace = (appName: string) => `${appName}-build`;

/** Checks across entries that a per-field schema cannot see: duplicates and paired keys. */
function crossChecks(
  input: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  gitlab: GitLabKeys,
): string[] {
  const problems: string[] = [];
  const apps = Array.isArray(input.apps) ? (input.apps as Record<string, unknown>[]) : [];
  const seen = {
    name: new Map<string, number>(),
    namespace: new Map<string, number>(),
  };
  apps.forEach((app, index) => {
    if (app === null || typeof app !== "object") return;
    const name = typeof app.name === "string" ? app.name : undefined;
    const namespace =
      typeof app.namespace === "string" ? app.namespace : name && defaultNamespace(name);
    for (const [field, value] of [
      ["name", name],
      ["namespace", namespace],
    ] as const) {
      if (value === undefined) continue;
      const first = seen[field].get(value);
      if (first !== undefined) {
        problems.push(
          `${configKey(["apps", index, field])}: expected a unique ${field}; "${value}" is already used by tekton-gitlab:apps[${first}]`,
        );
      } else {
        seen[field].set(value, index);
      }
    }
  });

  // Chains is applied after the Pipelines release this stack installs (its controller needs
  // Tekton's CRDs); a cluster whose Tekton is installed otherwise installs Chains the same way.
  const tekton = input.tekton as Record<string, any> | undefined;
  if (tekton && typeof tekton === "object" && tekton.install === false) {
    const chains = tekton.chains;
    if (chains && typeof chains === "object" && chains.install === true) {
      problems.push(
        `${configKey(["tekton", "chains", "install"])}: expected tekton.install: true: Chains is installed after the Tekton Pipelines release this stack applies; with a Tekton installed by other means, install Chains the same way`,
      );
    }
  }

  // The Pruner and the Dashboard go into the namespace and after the Pipelines release this
  // stack applies (like Chains). Unset, pruner.install follows tekton.install (its default
  // true applies only to a stack that installs Tekton): a cluster whose Tekton is installed
  // otherwise (e.g. by the Tekton Operator, which manages its own pruner) gets none.
  if (tekton && typeof tekton === "object" && tekton.install === false) {
    for (const addOn of ["pruner", "dashboard"] as const) {
      const value = tekton[addOn];
      if (value && typeof value === "object" && value.install === true) {
        problems.push(
          `${configKey(["tekton", addOn, "install"])}: expected tekton.install: true: the ${addOn === "pruner" ? "Tekton Pruner" : "Tekton Dashboard"} is installed after the Tekton Pipelines release this stack applies; with a Tekton installed by other means, install it the same way`,
        );
      }
    }
  }

  // A build namespace that gets a pruner config (the stack installs the pruner, or the app sets
  // `retention`) must be one the pruner works in: its webhook refuses a namespace config in
  // kube-*, openshift-*, tekton-pipelines and tekton-operator (tektoncd/pruner v0.4.1
  // pkg/webhook/configmapvalidation.go `validateNamespaceForConfig`), and its controller never
  // prunes there (pkg/reconciler/tektonpruner/controller.go `getFilteredNamespaces`). Said here,
  // not as the webhook's refusal halfway through an `up`.
  const prunerInstalled =
    !(tekton && typeof tekton === "object" && tekton.install === false) &&
    !(tekton?.pruner && typeof tekton.pruner === "object" && tekton.pruner.install === false);
  apps.forEach((app, index) => {
    if (app === null || typeof app !== "object") return;
    if (!prunerInstalled && app.retention === undefined) return;
    const namespace =
      typeof app.namespace === "string"
        ? app.namespace
        : typeof app.name === "string"
          ? defaultNamespace(app.name)
          : undefined;
    if (namespace === undefined || !isPrunerExcludedNamespace(namespace)) return;
    problems.push(
      `${configKey(["apps", index, "namespace"])}: expected a namespace the Tekton Pruner works in; "${namespace}"${typeof app.namespace === "string" ? "" : " (the default <name>-build)"} is one of kube-*, openshift-*, tekton-pipelines, tekton-operator, where its webhook refuses a retention config and it prunes nothing. Choose another namespace, or set tekton.pruner.install: false and no retention`,
    );
  });

  // Every app's hook posts to the one listener host; with no app there is nothing to post.
  const listener = input.listener as Record<string, unknown> | undefined;
  const listenerObject = listener !== null && typeof listener === "object";
  if (
    apps.length > 0 &&
    (listener === undefined || (listenerObject && listener.host === undefined))
  ) {
    problems.push(
      `${configKey(["listener", "host"])}: required when there is at least one app: the one webhook host every app's GitLab hook posts to (e.g. builds.example.com)`,
    );
  }
  const listenerNamespace =
    listenerObject && typeof listener.namespace === "string"
      ? listener.namespace
      : DEFAULT_LISTENER_NAMESPACE;
  const clash = seen.namespace.get(listenerNamespace);
  if (clash !== undefined) {
    // The listener namespace holds no app Secret: that is what keeps the listener from them.
    problems.push(
      `${configKey(["apps", clash, "namespace"])}: expected a namespace other than the listener's ("${listenerNamespace}", tekton-gitlab:listener.namespace)`,
    );
  }

  const registry = input.registry as Record<string, unknown> | undefined;
  const hasUsername = registry && typeof registry === "object" && registry.username !== undefined;
  if (hasUsername && input.registryPassword === undefined) {
    problems.push(
      `${configKey(["registryPassword"])}: required when tekton-gitlab:registry.username is set (pulumi config set --secret ${NAMESPACE}:registryPassword ...)`,
    );
  }
  if (!hasUsername && input.registryPassword !== undefined) {
    problems.push(
      `${configKey(["registry", "username"])}: required when tekton-gitlab:registryPassword is set`,
    );
  }

  apps.forEach((app, index) => {
    if (app === null || typeof app !== "object") return;
    const raw = app.statusReporting;
    const given: Record<string, unknown> =
      typeof raw === "boolean"
        ? { enabled: raw }
        : raw !== null && typeof raw === "object"
          ? (raw as Record<string, unknown>)
          : {};
    // The managed token is a GitLab resource: without manageDeployKeys the stack creates none.
    if (
      app.manageDeployKeys === false &&
      given.enabled === true &&
      given.tokenSecretName === undefined
    ) {
      problems.push(
        `${configKey(["apps", index, "statusReporting", "tokenSecretName"])}: required to report build status with manageDeployKeys: false (the stack then creates no GitLab token): the name of an existing Secret in the build namespace whose key "token" holds a GitLab token with the api scope and at least the Developer role on the source project; or set statusReporting: false`,
      );
    }
  });

  apps.forEach((app, index) => {
    if (app === null || typeof app !== "object") return;
    const mr = app.mergeRequests as Record<string, unknown> | undefined;
    if (mr === null || typeof mr !== "object" || mr.build !== true) return;
    const secretKey = configKey(["apps", index, "mergeRequests", "registrySecretName"]);
    // A registry that wants a login refuses an anonymous push: say so now, not in the first run.
    if (mr.push === true && hasUsername && mr.registrySecretName === undefined) {
      problems.push(
        `${secretKey}: required with mergeRequests.push: true while tekton-gitlab:registry.username is set: the name of a kubernetes.io/dockerconfigjson Secret in the build namespace whose credentials may push the mr- tags (merge request builds never get the push build's registry-credentials unless it is named here), or set push: false`,
      );
    }
    const build = app.build as Record<string, unknown> | undefined;
    const cache = build !== null && typeof build === "object" ? build.cache : undefined;
    const cacheOn =
      cache === null || typeof cache !== "object"
        ? true
        : (cache as Record<string, unknown>).enabled !== false;
    // --no-push-cache binds Kaniko only: a RUN line holding the push build's Secret could store a
    // layer under a key the next reviewed build computes, and Kaniko v1.28.3 pkg/cache/cache.go
    // `RetrieveLayer` takes any image at <cache-repo>:<key> younger than the TTL.
    if (cacheOn && mr.registrySecretName === REGISTRY_SECRET) {
      problems.push(
        `${secretKey}: must not be ${REGISTRY_SECRET} while build.cache.enabled is true (the default): a merge request's Dockerfile RUN lines can read it, and it may write the layer cache the push builds reuse in deployed, signed images; name a Secret that may not write the cache repository, or turn the layer cache off`,
      );
    }
  });

  const managesGitLab = apps.some(
    (app) => app !== null && typeof app === "object" && app.manageDeployKeys !== false,
  );
  if (managesGitLab) {
    const baseUrl = gitlab.baseUrl ?? env.GITLAB_BASE_URL;
    const baseUrlKey =
      gitlab.baseUrl === undefined ? "gitlab:baseUrl (from env GITLAB_BASE_URL)" : "gitlab:baseUrl";
    if (!baseUrl) {
      problems.push(
        "gitlab:baseUrl: required (or env GITLAB_BASE_URL) to manage deploy keys and webhooks; set manageDeployKeys: false on every app to manage them by hand",
      );
    } else if (!/^https?:\/\/[^/\s@]+(\/\S*)?$/.test(baseUrl)) {
      problems.push(
        `${baseUrlKey}: expected an http(s) URL such as https://gitlab.example.com/api/v4/, without credentials`,
      );
    }
    if (!(gitlab.token ?? env.GITLAB_TOKEN)) {
      problems.push(
        "gitlab:token: required (pulumi config set --secret gitlab:token ..., or env GITLAB_TOKEN) to manage deploy keys and webhooks",
      );
    }
  }
  return problems;
}

interface GitLabKeys {
  baseUrl?: string;
  token?: string;
}

/**
 * Config keys that hold credentials, with how else to provide them. Set without `--secret` they
 * are stored in plain text in the stack file and in the state: the engine hands a dynamic
 * provider the whole stack config, secret only where the key is secure (pulumi v3.259.0
 * pkg/resource/deploy/target.go, `Target.GetPackageConfig`: "For dynamic providers, we always
 * pass the full configuration", `WithSecret(c.Secure())`), and the default pulumi-nodejs
 * provider keeps its config in the state.
 */
export const SECRET_CONFIG_KEYS: Record<string, string> = {
  "gitlab:token": `pulumi config set --secret gitlab:token <token>, or remove it (pulumi config rm gitlab:token) and set env GITLAB_TOKEN`,
  [`${NAMESPACE}:registryPassword`]: `pulumi config set --secret ${NAMESPACE}:registryPassword <password>`,
};

function plainSecretProblems(
  raw: Record<string, string>,
  isSecret: (key: string) => boolean,
): string[] {
  return Object.entries(SECRET_CONFIG_KEYS)
    .filter(([key]) => raw[key] !== undefined && !isSecret(key))
    .map(
      ([key, fix]) =>
        `${key}: set as plain config, so it is stored unencrypted in the stack file and in the state; expected a secret (${fix})`,
    );
}

/**
 * Validates raw config (the `key -> string` map Pulumi hands a program, as from
 * `pulumi.runtime.allConfig()`). Pure: no Pulumi runtime, usable by scripts and tests.
 * `isSecret` says whether a key was set with `--secret`; without it that check is skipped
 * (scripts that render manifests read no credentials).
 */
export function parseStackConfig(
  raw: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
  isSecret?: (key: string) => boolean,
): ValidatedConfig {
  const problems: string[] = isSecret ? plainSecretProblems(raw, isSecret) : [];
  const input: Record<string, unknown> = {};
  const unparsed = new Set<string>();
  const gitlab: GitLabKeys = { baseUrl: raw["gitlab:baseUrl"], token: raw["gitlab:token"] };

  for (const [fullKey, value] of Object.entries(raw)) {
    if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
    const key = fullKey.slice(NAMESPACE.length + 1);
    if (!CONFIG_KEYS.includes(key)) {
      const hint = closest(key, CONFIG_KEYS);
      problems.push(
        `${fullKey}: unknown key${hint ? ` (did you mean ${NAMESPACE}:${hint}?)` : " (a typo?)"}`,
      );
      continue;
    }
    if (!STRUCTURED_KEYS.has(key)) {
      input[key] = value;
      continue;
    }
    try {
      input[key] = JSON.parse(value);
    } catch {
      unparsed.add(key);
      problems.push(
        `${fullKey}: expected a structured value (set it in Pulumi.<stack>.yaml or with pulumi config set --path), got a plain string`,
      );
    }
  }

  const result = stackConfigSchema.safeParse(input);
  if (!result.success) {
    problems.push(
      ...result.error.issues
        // A key whose value did not parse is reported once, above, not again as "missing".
        .filter((issue) => !unparsed.has(String(issue.path[0])))
        .flatMap((issue) => describeIssue(issue, input)),
    );
  }
  problems.push(...crossChecks(input, env, gitlab));
  if (!result.success) throw new ConfigError(problems);

  const { registryPassword, apps, ...rest } = result.data;
  const prunerInstalled = rest.tekton.install && rest.tekton.pruner.install;
  const resolvedApps = apps.map((app): AppConfig => ({
    ...app,
    namespace: app.namespace ?? defaultNamespace(app.name),
    dockerfile: app.dockerfile ?? joinRepoPath(app.contextDir, "Dockerfile"),
    statusReporting: resolveStatusReporting(app),
    retention: resolveRetention(app.retention, prunerInstalled),
  }));
  // The status steps' way to GitLab, once any app reports statuses.
  const endpoint = resolveGitLabEndpoint(
    raw,
    env,
    resolvedApps.flatMap((app, i) => (app.statusReporting.enabled ? [configKey(["apps", i])] : [])),
    resolvedApps.some((app) => app.manageDeployKeys),
  );
  problems.push(...endpoint.problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...rest,
    tekton: {
      ...rest.tekton,
      pruner: { ...rest.tekton.pruner, install: prunerInstalled },
    },
    hasRegistryPassword: registryPassword !== undefined,
    apps: resolvedApps,
    ...(endpoint.endpoint ? { gitlab: endpoint.endpoint } : {}),
  };
}

/**
 * An app's retention: its own, or the defaults when the stack installs the pruner (every build
 * namespace then gets a config, tekton/cluster/pruner.ts). With no pruner installed by the stack, an
 * explicit `retention` still yields the namespace ConfigMap, for a pruner installed otherwise.
 */
function resolveRetention(
  given: RetentionConfig | undefined,
  prunerInstalled: boolean,
): RetentionConfig | undefined {
  if (given !== undefined) return given;
  return prunerInstalled ? retentionSchema.parse({}) : undefined;
}

/**
 * `apps[].statusReporting` resolved: on by default when the stack manages the app's GitLab
 * resources (a project access token it creates and rotates), or when a `tokenSecretName` is
 * given (that Secret's token; no managed token). crossChecks has refused "on" without either.
 */
function resolveStatusReporting(app: {
  name: string;
  manageDeployKeys: boolean;
  statusReporting?: {
    enabled?: boolean;
    tokenSecretName?: string;
    tokenLifetimeDays?: number;
    rotateBeforeDays?: number;
    tokenAccessLevel?: "developer" | "maintainer";
  };
}): StatusReporting {
  const given = app.statusReporting ?? {};
  const enabled = given.enabled ?? (app.manageDeployKeys || given.tokenSecretName !== undefined);
  if (!enabled) return { enabled: false };
  const context = `tekton/${app.name}`;
  if (given.tokenSecretName !== undefined) {
    return { enabled: true, context, secretName: given.tokenSecretName };
  }
  if (!app.manageDeployKeys) return { enabled: false };
  return {
    enabled: true,
    context,
    secretName: STATUS_TOKEN_SECRET,
    managedToken: {
      lifetimeDays: given.tokenLifetimeDays ?? DEFAULT_TOKEN_LIFETIME_DAYS,
      rotateBeforeDays: given.rotateBeforeDays ?? DEFAULT_ROTATE_BEFORE_DAYS,
      accessLevel: given.tokenAccessLevel ?? "developer",
    },
  };
}

function joinRepoPath(dir: string, file: string): string {
  return dir === "." || dir === "" ? file : `${dir.replace(/\/+$/, "")}/${file}`;
}

/** The validated config plus the secrets, as Pulumi secrets. */
export interface StackConfig extends ValidatedConfig {
  /** `tekton-gitlab:registryPassword`, always a secret Output; undefined when not set. */
  registryPassword?: pulumi.Output<string>;
}

/**
 * Whether the engine marked a config key secret (set with `--secret`). @pulumi/pulumi 3.276.0
 * sdk/nodejs/runtime/config.ts `isConfigSecret` reads PULUMI_CONFIG_SECRET_KEYS, which the
 * engine fills with `Target.Config.SecureKeys()` (pkg/resource/deploy/program_source.go). It is
 * exported by the module but marked @internal (absent from the typings), hence the require.
 */
function isConfigSecret(key: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as {
    isConfigSecret?: (key: string) => boolean;
  };
  if (typeof runtimeConfig.isConfigSecret !== "function") {
    throw new Error("@pulumi/pulumi no longer exports runtime/config isConfigSecret");
  }
  return runtimeConfig.isConfigSecret(key);
}

/** Reads the running stack's config; throws ConfigError before anything is registered. */
export function loadStackConfig(): StackConfig {
  const config = parseStackConfig(pulumi.runtime.allConfig(), process.env, isConfigSecret);
  const password = new pulumi.Config(NAMESPACE).getSecret("registryPassword");
  return { ...config, registryPassword: password };
}
