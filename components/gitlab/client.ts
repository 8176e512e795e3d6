// A small typed client for the GitLab REST API v4 endpoints this stack uses, on Node's own
// http/https modules. It runs in the dynamic provider process (loaded there by
// runtime/forward.js; the soak still serializes it by value, as states before issue 11 held
// it), so it imports nothing but its siblings, config/gitlabConnection.ts and Node built-ins
// (no Pulumi, no third-party modules) and holds the token only in an instance created inside
// the provider process, never in module scope.
//
// Why not the built-in fetch: it follows redirects with the PRIVATE-TOKEN header (a 301 from
// http:// to https:// also turns a POST into a GET that "succeeds"), and it takes a custom CA
// only through an undici dispatcher, a module the provider process cannot be sure to resolve.
// node:https takes `ca` and `rejectUnauthorized` directly and never follows a redirect.
import * as http from "node:http";
import * as https from "node:https";
import {
  RequestContext,
  gitlabApiError,
  gitlabConfigError,
  gitlabMessageOf,
  gitlabNetworkError,
  hintFor,
  isCertificateFailure,
  isNotSent,
  notFoundSubjectOf,
  redact,
} from "./errors";
import { parseBaseUrl } from "../../config/gitlabConnection";
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
  /** GitLab 17.1+ (lib/api/entities/hook.rb); absent on older GitLab. */
  name?: string | null;
  description?: string | null;
  project_id: number;
  push_events: boolean;
  push_events_branch_filter: string | null;
  enable_ssl_verification: boolean;
  merge_requests_events: boolean;
  /** lib/api/entities/project_hook.rb `expose :note_events`. */
  note_events: boolean;
  tag_push_events: boolean;
  created_at: string;
  /** GitLab disables hooks that keep failing: `executable`, `temporarily_disabled`, ... */
  alert_status?: string;
  disabled_until?: string | null;
}

export interface ProjectHookRequest {
  url?: string;
  /** GitLab 17.1+; older GitLab ignores it. */
  name?: string;
  /** GitLab 17.1+; older GitLab ignores it. */
  description?: string;
  token?: string;
  push_events?: boolean;
  push_events_branch_filter?: string;
  enable_ssl_verification?: boolean;
  merge_requests_events?: boolean;
  /** lib/api/project_hooks.rb: `optional :note_events, type: Boolean` (POST and PUT). */
  note_events?: boolean;
  tag_push_events?: boolean;
}

/**
 * A project access token as GitLab lists it (lib/api/entities/resource_access_token.rb, on
 * Entities::PersonalAccessToken). `token` is only in the answer to a create or a rotate
 * (Entities::ResourceAccessTokenWithToken); GitLab never shows it again.
 */
export interface ProjectAccessTokenRecord {
  id: number;
  name: string;
  /** GitLab 17.7+; absent on older GitLab. */
  description?: string | null;
  revoked: boolean;
  active: boolean;
  created_at: string;
  scopes: string[];
  user_id: number;
  /** `YYYY-MM-DD` or null. */
  expires_at: string | null;
  access_level: number;
  last_used_at?: string | null;
}

export interface ProjectAccessTokenWithToken extends ProjectAccessTokenRecord {
  token: string;
}

export interface CreateProjectAccessTokenRequest {
  name: string;
  description?: string;
  scopes: string[];
  access_level: number;
  /** `YYYY-MM-DD`. */
  expires_at: string;
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
  /** PEM CA certificate(s) to trust for an https base URL (gitlab:cacertFile). */
  caCert?: string;
  /** Skip TLS verification (gitlab:insecure). */
  insecure?: boolean;
}

/** One HTTP exchange, as the retry loop needs it. */
interface RawAnswer {
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
}

/** Largest page GitLab serves. */
const PAGE_SIZE = 100;

/** `parseBaseUrl` (config/gitlabConnection.ts), raising its problem as a configuration error. */
export function normalizeBaseUrl(raw: string, key = "gitlab:baseUrl"): string {
  const parsed = parseBaseUrl(raw, key);
  if ("problem" in parsed) throw gitlabConfigError(parsed.problem);
  return parsed.apiUrl;
}

/** A project id for a URL path: numeric ids as they are, paths with `/` encoded as `%2F`. */
export function projectSegment(project: string | number): string {
  return encodeURIComponent(String(project).trim());
}

/**
 * The path and error context of a request to one object of a project, e.g. `deploy_keys/7` as
 * `read deploy key 7 of project "a/b"` (`object` names it for 404 hints).
 */
function objectRequest(
  project: string,
  collection: string,
  noun: string,
  id: number,
  verb: string,
  suffix = "",
): { path: string; context: RequestContext } {
  return {
    path: `/projects/${projectSegment(project)}/${collection}/${id}${suffix}`,
    context: {
      operation: `${verb} ${noun} ${id} of project "${project}"`,
      project,
      object: `${noun} ${id}`,
    },
  };
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
  status: number;
}

/**
 * An answer to a create's POST that cannot be GitLab's: something else answered, so the write may
 * or may not have happened (ambiguous: the provider asks GitLab instead of sending it again).
 */
function notGitLabsAnswer(
  status: number,
  path: string,
  answer: string,
  context: RequestContext,
): Error {
  return gitlabApiError({
    status,
    method: "POST",
    path,
    gitlabMessage: "",
    answer,
    hint:
      "Something between this machine and GitLab answered in its place; check " +
      "gitlab:baseUrl (or GITLAB_BASE_URL) is the GitLab instance URL.",
    context,
    attempts: 1,
    ambiguous: true,
  });
}

/** What to do about a redirect: name where it points and the base URL that avoids it. */
function redirectHint(baseUrl: string, location: string): string {
  let suggestion = "";
  try {
    const target = new URL(location, baseUrl);
    const base = new URL(baseUrl);
    if (target.host === base.host && target.protocol === "https:" && base.protocol === "http:") {
      suggestion = ` (here: ${base.href.replace(/^http:/, "https:").replace(/\/api\/v4\/?$/, "")})`;
    } else {
      suggestion = ` (here probably ${target.origin})`;
    }
  } catch {
    suggestion = "";
  }
  return (
    "The provider does not follow redirects: the token would be sent along and a POST " +
    "would turn into a GET. Set gitlab:baseUrl (or GITLAB_BASE_URL) to the address GitLab " +
    `really answers on, normally its https:// URL${suggestion}.`
  );
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
    const { path, context } = objectRequest(project, "deploy_keys", "deploy key", keyId, "read");
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
    return this.post<DeployKeyRecord>(path, { body, context });
  }

  async updateDeployKey(
    project: string,
    keyId: number,
    body: UpdateDeployKeyRequest,
  ): Promise<DeployKeyRecord> {
    const { path, context } = objectRequest(project, "deploy_keys", "deploy key", keyId, "update");
    return (await this.request<DeployKeyRecord>("PUT", path, { body, context })).data;
  }

  async deleteDeployKey(project: string, keyId: number): Promise<void> {
    const { path, context } = objectRequest(project, "deploy_keys", "deploy key", keyId, "delete");
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
    const { path, context } = objectRequest(project, "hooks", "hook", hookId, "read");
    return (await this.request<ProjectHookRecord>("GET", path, { context })).data;
  }

  async createHook(project: string, body: ProjectHookRequest): Promise<ProjectHookRecord> {
    const path = `/projects/${projectSegment(project)}/hooks`;
    const context = {
      operation: `create a hook on project "${project}"`,
      project,
      hookUrl: body.url,
    };
    return this.post<ProjectHookRecord>(path, { body, context, secrets: [body.token] });
  }

  /** Updates a hook. Send `token` with every update that sends `url`: GitLab erases it else. */
  async updateHook(
    project: string,
    hookId: number,
    body: ProjectHookRequest,
  ): Promise<ProjectHookRecord> {
    const one = objectRequest(project, "hooks", "hook", hookId, "update");
    const path = one.path;
    const context = { ...one.context, hookUrl: body.url };
    const secrets = [body.token];
    return (await this.request<ProjectHookRecord>("PUT", path, { body, context, secrets })).data;
  }

  async deleteHook(project: string, hookId: number): Promise<void> {
    const { path, context } = objectRequest(project, "hooks", "hook", hookId, "delete");
    await this.request<unknown>("DELETE", path, { context });
  }

  // ---- project access tokens ---------------------------------------------------------------
  // lib/api/resource_access_tokens.rb: GET/POST :id/access_tokens, GET/DELETE
  // :id/access_tokens/:token_id, POST :id/access_tokens/:token_id/rotate. The token value is in
  // the answers to POST only, and is passed to `request` as a secret so that no message or log
  // line can carry it.

  listProjectAccessTokens(project: string): Promise<ProjectAccessTokenRecord[]> {
    return this.list<ProjectAccessTokenRecord>(
      `/projects/${projectSegment(project)}/access_tokens`,
      { operation: `list access tokens of project "${project}"`, project },
    );
  }

  async getProjectAccessToken(project: string, tokenId: number): Promise<ProjectAccessTokenRecord> {
    const { path, context } = objectRequest(
      project,
      "access_tokens",
      "access token",
      tokenId,
      "read",
    );
    return (await this.request<ProjectAccessTokenRecord>("GET", path, { context })).data;
  }

  /** Creates a project access token; the answer is the only place its value appears. */
  async createProjectAccessToken(
    project: string,
    body: CreateProjectAccessTokenRequest,
  ): Promise<ProjectAccessTokenWithToken> {
    const path = `/projects/${projectSegment(project)}/access_tokens`;
    const context = {
      operation: `create access token "${body.name}" on project "${project}"`,
      project,
    };
    const answer = await this.post<ProjectAccessTokenWithToken>(path, { body, context });
    return this.withToken(answer, path, context);
  }

  /**
   * Rotates a token: GitLab revokes it and creates a new one (new id, same name, description,
   * scopes; app/services/personal_access_tokens/rotate_service.rb `execute`, one transaction).
   */
  async rotateProjectAccessToken(
    project: string,
    tokenId: number,
    expiresAt: string,
  ): Promise<ProjectAccessTokenWithToken> {
    const { path, context } = objectRequest(
      project,
      "access_tokens",
      "access token",
      tokenId,
      "rotate",
      "/rotate",
    );
    const body = { expires_at: expiresAt };
    const answer = await this.post<ProjectAccessTokenWithToken>(path, { body, context });
    return this.withToken(answer, path, context);
  }

  /** Revokes a token (GitLab also schedules its bot user for deletion). */
  async revokeProjectAccessToken(project: string, tokenId: number): Promise<void> {
    const { path, context } = objectRequest(
      project,
      "access_tokens",
      "access token",
      tokenId,
      "revoke",
    );
    await this.request<unknown>("DELETE", path, { context });
  }

  // ---- transport ---------------------------------------------------------------------------

  /**
   * A create's POST. Its answer must be the created record: anything without a numeric id (an
   * empty list from a POST turned into a GET, a proxy's JSON) is not GitLab's create answer,
   * and the write may or may not have happened, so it is reported as ambiguous.
   */
  private async post<T extends { id: number }>(path: string, options: RequestOptions): Promise<T> {
    const answer = await this.request<T>("POST", path, options);
    const id = (answer.data as { id?: unknown } | undefined)?.id;
    if (typeof id === "number" && Number.isInteger(id) && id > 0) return answer.data;
    throw notGitLabsAnswer(
      answer.status,
      path,
      `${answer.status} without a numeric id, which is not GitLab's answer to a create`,
      options.context,
    );
  }

  /** A create or rotate answer without the token value is as good as a lost answer. */
  private withToken<T extends { token?: unknown }>(
    record: T,
    path: string,
    context: RequestContext,
  ): T {
    if (typeof record.token === "string" && record.token !== "") return record;
    throw notGitLabsAnswer(200, path, "an access token record without its token value", context);
  }

  /** Sends one request; rejects only when no HTTP answer came back at all. */
  private exchange(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<RawAnswer> {
    const secure = url.startsWith("https:");
    const transport = secure ? https : http;
    const options: https.RequestOptions = {
      method,
      headers:
        body === undefined ? headers : { ...headers, "Content-Length": Buffer.byteLength(body) },
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    };
    if (secure) {
      if (this.options.caCert) options.ca = this.options.caCert;
      if (this.options.insecure) options.rejectUnauthorized = false;
    }
    return new Promise<RawAnswer>((resolve, reject) => {
      const req = transport.request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const answerHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const item of Array.isArray(value) ? value : [value]) {
              answerHeaders.append(name, item);
            }
          }
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? "",
            headers: answerHeaders,
            text: Buffer.concat(chunks).toString("utf8"),
          });
        });
      });
      req.on("error", reject);
      req.end(body);
    });
  }

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
      let response: RawAnswer | undefined;
      let failure = "";
      try {
        response = await this.exchange(method, url, headers, body);
      } catch (error) {
        const cause = error as { code?: string; message?: string; name?: string };
        failure =
          cause.name === "TimeoutError" || cause.name === "AbortError"
            ? "timeout"
            : (cause.code ?? cause.message ?? String(error));
      }
      const status = response?.status;
      const ok = status !== undefined && status >= 200 && status < 300;
      if (ok && response) {
        const data = this.parse<T>(method, path, response, options, secrets);
        return { data, headers: response.headers, status: response.status };
      }
      // A certificate GitLab's server presented that this machine does not trust will not
      // change on a retry.
      const permanent = !response && isCertificateFailure(failure);
      const redirect = status !== undefined && status >= 300 && status < 400;
      const decision =
        permanent || redirect
          ? ({ retry: false, reason: "" } as const)
          : decideRetry({
              method,
              status,
              headers: response?.headers,
              attempt,
              waitedMs,
              policy: this.policy,
              nowMs: now(),
              random,
            });
      if (decision.retry) {
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
      const isWrite = method === "POST";
      if (!response) {
        throw gitlabNetworkError(
          operation,
          this.baseUrl,
          redact(failure, secrets),
          attempt,
          isWrite && !isNotSent(failure),
        );
      }
      const context: RequestContext = {
        ...options.context,
        operation,
        hookUrl:
          options.context.hookUrl === undefined
            ? undefined
            : redact(options.context.hookUrl, secrets),
      };
      if (redirect) {
        // Never followed: the PRIVATE-TOKEN header would go wherever Location points, and a
        // 301/302 turns a POST into a GET that "succeeds" without creating anything.
        const location = redact(response.headers.get("location") ?? "(no Location)", secrets);
        throw gitlabApiError({
          status: response.status,
          statusText: redact(response.statusText, secrets),
          method,
          path: redact(path, secrets),
          gitlabMessage: "",
          answer:
            `${response.status} ${redact(response.statusText, secrets)} redirecting to ${location}`.replace(
              /\s+/g,
              " ",
            ),
          hint: redirectHint(this.baseUrl, location),
          context,
          attempts: attempt,
          ambiguous: isWrite,
        });
      }
      const text = response.text;
      const contentType = response.headers.get("content-type") ?? "";
      const gitlabMessage = redact(
        gitlabMessageOf(text, contentType, response.statusText),
        secrets,
      );
      const notFound = response.status === 404 ? notFoundSubjectOf(text, contentType) : undefined;
      throw gitlabApiError({
        status: response.status,
        statusText: redact(response.statusText, secrets),
        method,
        path: redact(path, secrets),
        gitlabMessage,
        // After a POST, "try again later" would advise the rerun that makes a duplicate: the
        // provider says what GitLab did instead (issue 11, defect 6).
        hint:
          isWrite && response.status >= 500
            ? "GitLab, or a proxy in front of it, failed after the request was sent."
            : hintFor(response.status, gitlabMessage, context, notFound),
        notFound,
        context,
        attempts: attempt,
        // A 5xx may come from a proxy after GitLab did the work (or from GitLab after it).
        ambiguous: isWrite && response.status >= 500,
      });
    }
  }

  /**
   * GitLab's JSON, or an error that says which request got what: a 200 with an HTML body is a
   * proxy's or SSO login page, never GitLab's API.
   */
  private parse<T>(
    method: string,
    path: string,
    response: RawAnswer,
    options: RequestOptions,
    secrets: (string | undefined)[],
  ): T {
    if (response.status === 204 || response.text === "") return undefined as T;
    const contentType = response.headers.get("content-type") ?? "";
    let parsed: unknown;
    let readable = contentType.includes("json");
    if (readable) {
      try {
        parsed = JSON.parse(response.text);
      } catch {
        readable = false;
      }
    }
    if (readable) return parsed as T;
    const what = contentType.split(";")[0].trim() || "a body without a content type";
    throw gitlabApiError({
      status: response.status,
      method,
      path: redact(path, secrets),
      gitlabMessage: "",
      answer: `${response.status} with ${what}, not GitLab's JSON`,
      hint:
        "Something other than GitLab answered (an SSO or proxy login page, a captive portal, " +
        "another web server): check gitlab:baseUrl (or GITLAB_BASE_URL) is the GitLab " +
        "instance URL and that this machine reaches GitLab's API without a browser login.",
      context: { ...options.context, operation: redact(options.context.operation, secrets) },
      attempts: 1,
      ambiguous: method === "POST",
    });
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
