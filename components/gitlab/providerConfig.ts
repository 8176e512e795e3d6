// How the dynamic providers find GitLab. The provider object is serialized into the state with
// every resource, so the token must reach it only at run time, inside the provider process:
// Pulumi calls `configure` there with the stack's config (`gitlab:baseUrl`, `gitlab:token`),
// and the environment is read there too. Nothing here runs while the program builds resources.
import { GITLAB_CONFIG_KEYS, GITLAB_ENV_VARS, readCaCertFile } from "../../config/gitlabConnection";
import { GitLabClient, GitLabClientOptions } from "./client";
import { gitlabConfigError } from "./errors";

export { GITLAB_CONFIG_KEYS, GITLAB_ENV_VARS };

/** What `configure` receives as `req.config` (keys are fully qualified: `gitlab:token`). */
export interface ConfigSource {
  get(key: string): string | undefined;
}

export interface GitLabSettings {
  baseUrl: string;
  token: string;
  /** Path of a PEM file with the CA that signed GitLab's certificate. */
  cacertFile?: string;
  /** Skip TLS verification. */
  insecure?: boolean;
}

type Env = Record<string, string | undefined>;

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== "" ? value : undefined;
}

/**
 * Stack config first, then the environment, per key. Throws one error naming every missing
 * key and both ways to set it.
 */
export function resolveGitLabSettings(config: ConfigSource | undefined, env: Env): GitLabSettings {
  const baseUrl =
    nonEmpty(config?.get(GITLAB_CONFIG_KEYS.baseUrl)) ?? nonEmpty(env[GITLAB_ENV_VARS.baseUrl]);
  const token =
    nonEmpty(config?.get(GITLAB_CONFIG_KEYS.token)) ?? nonEmpty(env[GITLAB_ENV_VARS.token]);
  const missing: string[] = [];
  if (baseUrl === undefined) {
    missing.push(
      `${GITLAB_CONFIG_KEYS.baseUrl} (e.g. \`pulumi config set gitlab:baseUrl ` +
        `https://gitlab.example.com\`) or env ${GITLAB_ENV_VARS.baseUrl}`,
    );
  }
  if (token === undefined) {
    missing.push(
      `${GITLAB_CONFIG_KEYS.token} (\`pulumi config set --secret gitlab:token <token>\`, a ` +
        `token with the api scope and Maintainer on the projects) or env ${GITLAB_ENV_VARS.token}`,
    );
  }
  if (baseUrl === undefined || token === undefined) {
    throw gitlabConfigError(`GitLab is not configured. Set ${missing.join("; and ")}.`);
  }
  const settings: GitLabSettings = { baseUrl, token };
  const cacertFile = nonEmpty(config?.get(GITLAB_CONFIG_KEYS.cacertFile));
  if (cacertFile !== undefined) settings.cacertFile = cacertFile.trim();
  const insecure = nonEmpty(config?.get(GITLAB_CONFIG_KEYS.insecure))?.trim().toLowerCase();
  if (insecure !== undefined) {
    if (insecure !== "true" && insecure !== "false") {
      throw gitlabConfigError(
        `${GITLAB_CONFIG_KEYS.insecure} must be true or false; got "${insecure}".`,
      );
    }
    settings.insecure = insecure === "true";
  }
  return settings;
}

/** The PEM text of gitlab:cacertFile; a configuration error when it cannot be used. */
function readCaCert(file: string): string {
  const ca = readCaCertFile(file);
  if ("problem" in ca) throw gitlabConfigError(`${ca.problem}.`);
  return ca.text;
}

/**
 * Where retry notices go unless a test injects a log. The engine shows a dynamic provider's
 * stderr in its diagnostics, so a 429 wait of up to two minutes is not silent. The client
 * redacts the token (and a hook's token) from every line before it gets here.
 */
export function logToStderr(line: string): void {
  console.error(line);
}

/** Test hooks of a provider; the providers the resources use are created without any. */
export interface GitLabProviderOptions {
  /** Client options other than the connection (retry policy, sleep, log...); log defaults to stderr. */
  client?: Omit<GitLabClientOptions, "baseUrl" | "token">;
  /** Replaces `process.env` for the fallback. */
  env?: Env;
}

/**
 * Shared by the dynamic providers: keeps the config `configure` was given and builds the
 * client on first use, so `check` and `diff` (which need no API) work unconfigured.
 *
 * Plain fields, not `#private` ones: Pulumi rebuilds the serialized provider object without
 * running its constructor, and a missing private field would throw on first access. The
 * fields are empty when the provider is serialized: `configure` only runs in the provider
 * process, after deserialization.
 */
export abstract class GitLabProviderBase {
  protected gitlabConfig?: ConfigSource;
  protected gitlabClient?: GitLabClient;
  protected readonly providerOptions?: GitLabProviderOptions;

  constructor(options?: GitLabProviderOptions) {
    if (options !== undefined) this.providerOptions = options;
  }

  async configure(req: { config: ConfigSource }): Promise<void> {
    const raw = req?.config;
    this.gitlabConfig = {
      get: (key) => {
        // Engines older than dynamic-provider config support configure with no config.
        try {
          return raw?.get(key);
        } catch {
          return undefined;
        }
      },
    };
    this.gitlabClient = undefined;
  }

  /** One line to the provider's log (stderr unless a test injects a log). */
  protected note(line: string): void {
    (this.providerOptions?.client?.log ?? logToStderr)(line);
  }

  protected client(): GitLabClient {
    if (!this.gitlabClient) {
      const options = this.providerOptions ?? {};
      const settings = resolveGitLabSettings(this.gitlabConfig, options.env ?? process.env);
      this.gitlabClient = new GitLabClient({
        ...options.client,
        log: options.client?.log ?? logToStderr,
        baseUrl: settings.baseUrl,
        token: settings.token,
        caCert: settings.cacertFile === undefined ? undefined : readCaCert(settings.cacertFile),
        insecure: settings.insecure,
      });
    }
    return this.gitlabClient;
  }
}
