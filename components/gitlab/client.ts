// A small typed client for the GitLab REST API v4 endpoints this stack uses, on Node's built-in
// fetch. It is serialized into the Pulumi state with the dynamic providers that use it, so it
// imports nothing but its siblings (no Pulumi, no third-party modules) and holds the token only
// in an instance created inside the provider process, never in module scope.
import {
  RequestContext,
  gitlabApiError,
  gitlabConfigError,
  gitlabMessageOf,
  gitlabNetworkError,
  hintFor,
  notFoundSubjectOf,
  redact,
} from "./errors";
import { DEFAULT_RETRY_POLICY, RetryPolicy, decideRetry } from "./retry";

/** A deploy key as GitLab returns it for a project. */
export interface DeployKeyRecord {
  id: number;
  title: string;
  key: string;
  fingerprint?: string;
  fingerprint_sha256?: string;
  created_at: string;
  expires_at: string | null;
  can_push: boolean;
}

export interface CreateDeployKeyRequest {
  title: string;
  key: string;
  can_push?: boolean;
  /** ISO 8601 date or date-time. */
  expires_at?: string;
}

export interface UpdateDeployKeyRequest {
  title?: string;
  can_push?: boolean;
}

/** A project hook as GitLab returns it (the token is write-only and never returned). */
export interface ProjectHookRecord {
  id: number;
  url: string;
  project_id: number;
  push_events: boolean;
  push_events_branch_filter: string | null;
  enable_ssl_verification: boolean;
  merge_requests_events: boolean;
  tag_push_events: boolean;
  created_at: string;
  /** GitLab disables hooks that keep failing: `executable`, `temporarily_disabled`, ... */
  alert_status?: string;
  disabled_until?: string | null;
}

export interface ProjectHookRequest {
  url?: string;
  token?: string;
  push_events?: boolean;
  push_events_branch_filter?: string;
  enable_ssl_verification?: boolean;
  merge_requests_events?: boolean;
  tag_push_events?: boolean;
}

export interface GitLabClientOptions {
  /** Instance URL, with or without `/api/v4`. */
  baseUrl: string;
  token: string;
  retry?: Partial<RetryPolicy>;
  /**
   * Multiplies every wait before it is slept (tests use a tiny scale). The waits reported to
   * `sleep` and `log` are the unscaled ones GitLab asked for or the backoff chose.
   */
  delayScale?: number;
  /** Replaces the sleep between attempts; receives the unscaled wait in milliseconds. */
  sleep?: (ms: number) => Promise<void>;
  /** Source of jitter in [0, 1). */
  random?: () => number;
  /** Clock in epoch milliseconds, for `RateLimit-Reset`. */
  now?: () => number;
  /** Receives one line per retry. Lines never contain the token. */
  log?: (line: string) => void;
  /** Timeout of one attempt. */
  timeoutMs?: number;
}

/** Largest page GitLab serves. */
const PAGE_SIZE = 100;

/**
 * `https://gitlab.example.com`, `.../`, `.../api/v4` and `.../api/v4/` (also below a path, for
 * instances served from a sub-directory) all become `https://gitlab.example.com/api/v4`.
 */
export function normalizeBaseUrl(raw: string, key = "gitlab:baseUrl"): string {
  const trimmed = raw.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw gitlabConfigError(
      `${key} must be the GitLab instance URL, e.g. https://gitlab.example.com; got "${trimmed}".`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw gitlabConfigError(`${key} must be an http(s) URL; got "${url.protocol}" scheme.`);
  }
  if (url.username || url.password) {
    // Credentials in the URL would end up in state and logs; the token has its own secret key.
    throw gitlabConfigError(
      `${key} must not contain credentials; put the token in gitlab:token (a secret).`,
    );
  }
  if (url.search || url.hash) {
    throw gitlabConfigError(`${key} must not have a query or fragment; got "${trimmed}".`);
  }
  const path = url.pathname
    .replace(/\/{2,}/g, "/")
    .replace(/\/+$/, "")
    .replace(/\/api\/v4$/, "");
  return `${url.origin}${path}/api/v4`;
}

/** A project id for a URL path: numeric ids as they are, paths with `/` encoded as `%2F`. */
export function projectSegment(project: string | number): string {
  return encodeURIComponent(String(project).trim());
}

interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number>;
  context: RequestContext;
  /** Values to scrub from anything that could reach a message (e.g. a hook token). */
  secrets?: (string | undefined)[];
}

interface Answer<T> {
  data: T;
  headers: Headers;
}

// No `#private` members: Pulumi's closure serializer turns methods into plain functions, where
// `this.#field` is a syntax error that only shows when the provider process loads the state.
export class GitLabClient {
  readonly baseUrl: string;
  declare private readonly token: string;
  private readonly policy: RetryPolicy;
  private readonly options: Omit<GitLabClientOptions, "token">;

  constructor(options: GitLabClientOptions) {
    this.baseUrl = normalizeBaseUrl(options.baseUrl);
    if (!options.token || !options.token.trim()) {
      throw gitlabConfigError("gitlab:token is empty; set it with `pulumi config set --secret`.");
    }
    const { token, ...rest } = options;
    // Not enumerable: util.inspect, JSON.stringify and Object.keys skip it, so logging the
    // client (or an error that holds it) cannot print the token.
    Object.defineProperty(this, "token", { value: token.trim(), enumerable: false });
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.options = rest;
  }

  // ---- deploy keys -------------------------------------------------------------------------

  listDeployKeys(project: string): Promise<DeployKeyRecord[]> {
    return this.list<DeployKeyRecord>(`/projects/${projectSegment(project)}/deploy_keys`, {
      operation: `list deploy keys of project "${project}"`,
      project,
    });
  }

  async getDeployKey(project: string, keyId: number): Promise<DeployKeyRecord> {
    const path = `/projects/${projectSegment(project)}/deploy_keys/${keyId}`;
    const context = {
      operation: `read deploy key ${keyId} of project "${project}"`,
      project,
      object: `deploy key ${keyId}`,
    };
    return (await this.request<DeployKeyRecord>("GET", path, { context })).data;
  }

  /**
   * Creates a deploy key. GitLab answers 201 with the EXISTING record (same id) when the key is
   * already on the project, and attaches an existing key the token can see elsewhere.
   */
  async createDeployKey(project: string, body: CreateDeployKeyRequest): Promise<DeployKeyRecord> {
    const path = `/projects/${projectSegment(project)}/deploy_keys`;
    const context = {
      operation: `create deploy key "${body.title}" on project "${project}"`,
      project,
    };
    return (await this.request<DeployKeyRecord>("POST", path, { body, context })).data;
  }

  async updateDeployKey(
    project: string,
    keyId: number,
    body: UpdateDeployKeyRequest,
  ): Promise<DeployKeyRecord> {
    const path = `/projects/${projectSegment(project)}/deploy_keys/${keyId}`;
    const context = {
      operation: `update deploy key ${keyId} of project "${project}"`,
      project,
      object: `deploy key ${keyId}`,
    };
    return (await this.request<DeployKeyRecord>("PUT", path, { body, context })).data;
  }

  async deleteDeployKey(project: string, keyId: number): Promise<void> {
    const path = `/projects/${projectSegment(project)}/deploy_keys/${keyId}`;
    const context = {
      operation: `delete deploy key ${keyId} of project "${project}"`,
      project,
      object: `deploy key ${keyId}`,
    };
    await this.request<unknown>("DELETE", path, { context });
  }

  // ---- project hooks -----------------------------------------------------------------------

  listHooks(project: string): Promise<ProjectHookRecord[]> {
    return this.list<ProjectHookRecord>(`/projects/${projectSegment(project)}/hooks`, {
      operation: `list hooks of project "${project}"`,
      project,
    });
  }

  async getHook(project: string, hookId: number): Promise<ProjectHookRecord> {
    const path = `/projects/${projectSegment(project)}/hooks/${hookId}`;
    const context = {
      operation: `read hook ${hookId} of project "${project}"`,
      project,
      object: `hook ${hookId}`,
    };
    return (await this.request<ProjectHookRecord>("GET", path, { context })).data;
  }

  async createHook(project: string, body: ProjectHookRequest): Promise<ProjectHookRecord> {
    const path = `/projects/${projectSegment(project)}/hooks`;
    const context = {
      operation: `create a hook on project "${project}"`,
      project,
      hookUrl: body.url,
    };
    const secrets = [body.token];
    return (await this.request<ProjectHookRecord>("POST", path, { body, context, secrets })).data;
  }

  /** Updates a hook. Send `token` with every update that sends `url`: GitLab erases it else. */
  async updateHook(
    project: string,
    hookId: number,
    body: ProjectHookRequest,
  ): Promise<ProjectHookRecord> {
    const path = `/projects/${projectSegment(project)}/hooks/${hookId}`;
    const context = {
      operation: `update hook ${hookId} of project "${project}"`,
      project,
      object: `hook ${hookId}`,
      hookUrl: body.url,
    };
    const secrets = [body.token];
    return (await this.request<ProjectHookRecord>("PUT", path, { body, context, secrets })).data;
  }

  async deleteHook(project: string, hookId: number): Promise<void> {
    const path = `/projects/${projectSegment(project)}/hooks/${hookId}`;
    const context = {
      operation: `delete hook ${hookId} of project "${project}"`,
      project,
      object: `hook ${hookId}`,
    };
    await this.request<unknown>("DELETE", path, { context });
  }

  // ---- transport ---------------------------------------------------------------------------

  private async list<T>(path: string, context: RequestContext): Promise<T[]> {
    const items: T[] = [];
    let page = "1";
    // GitLab omits x-next-page (or sends it empty) on the last page. The bound guards against a
    // proxy that echoes the same page forever.
    for (let guard = 0; guard < 1000 && page; guard++) {
      const answer = await this.request<T[]>("GET", path, {
        context,
        query: { page, per_page: PAGE_SIZE },
      });
      items.push(...answer.data);
      const next = answer.headers.get("x-next-page")?.trim() ?? "";
      page = next !== page ? next : "";
    }
    return items;
  }

  private async request<T>(
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<Answer<T>> {
    const secrets = [this.token, ...(options.secrets ?? [])];
    const query = options.query
      ? `?${new URLSearchParams(
          Object.entries(options.query).map(([k, v]) => [k, String(v)]),
        ).toString()}`
      : "";
    const url = `${this.baseUrl}${path}${query}`;
    const headers: Record<string, string> = {
      "PRIVATE-TOKEN": this.token,
      Accept: "application/json",
    };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const random = this.options.random ?? Math.random;
    const now = this.options.now ?? Date.now;
    let waitedMs = 0;
    for (let attempt = 1; ; attempt++) {
      let response: Response | undefined;
      let failure = "";
      try {
        response = await fetch(url, {
          method,
          headers,
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        failure = cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
      }
      if (response?.ok) {
        const text = response.status === 204 ? "" : await response.text();
        return { data: (text ? JSON.parse(text) : undefined) as T, headers: response.headers };
      }
      const decision = decideRetry({
        method,
        status: response?.status,
        headers: response?.headers,
        attempt,
        waitedMs,
        policy: this.policy,
        nowMs: now(),
        random,
      });
      if (decision.retry) {
        // Drain the body so the connection can be reused.
        await response?.text().catch(() => undefined);
        this.log(
          secrets,
          `GitLab ${method} ${path}: ${decision.reason}; retrying in ` +
            `${(decision.delayMs / 1000).toFixed(1)}s (attempt ${attempt + 1} of ` +
            `${this.policy.maxAttempts}).`,
        );
        await this.sleep(decision.delayMs);
        waitedMs += decision.delayMs;
        continue;
      }
      // Every piece of a message is scrubbed before the error is built: the stack trace copies
      // the message at construction, so redacting afterwards would leave it there.
      const operation = redact(options.context.operation, secrets);
      if (!response) {
        throw gitlabNetworkError(operation, this.baseUrl, redact(failure, secrets), attempt);
      }
      const text = await response.text().catch(() => "");
      const contentType = response.headers.get("content-type") ?? "";
      const gitlabMessage = redact(
        gitlabMessageOf(text, contentType, response.statusText),
        secrets,
      );
      const notFound = response.status === 404 ? notFoundSubjectOf(text, contentType) : undefined;
      const context: RequestContext = {
        ...options.context,
        operation,
        hookUrl:
          options.context.hookUrl === undefined
            ? undefined
            : redact(options.context.hookUrl, secrets),
      };
      throw gitlabApiError({
        status: response.status,
        statusText: redact(response.statusText, secrets),
        method,
        path: redact(path, secrets),
        gitlabMessage,
        hint: hintFor(response.status, gitlabMessage, context, notFound),
        notFound,
        context,
        attempts: attempt,
      });
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.options.sleep) return this.options.sleep(ms);
    const scaled = ms * (this.options.delayScale ?? 1);
    return new Promise((resolve) => setTimeout(resolve, scaled));
  }

  private log(secrets: (string | undefined)[], line: string): void {
    this.options.log?.(redact(line, secrets));
  }
}
