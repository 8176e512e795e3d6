// A fake GitLab REST API v4 for the client and provider tests: a real HTTP server on
// 127.0.0.1 (random port) with GitLab's routes, status codes and error bodies for deploy keys
// and project hooks, in-memory state, a log of every request, and injectable failures.
// Behaviour follows lib/api/deploy_keys.rb and doc/api/project_webhooks.md (see
// ../shared/GITLAB-API.md), including the traps the providers must handle. 404 bodies are
// GitLab's: `{"message":"404 Project Not Found"}` for a project missing or hidden from the
// token, `{"message":"404 Not found"}` for a failed record lookup (GET/PUT of a key, any hook
// request), `{"message":"404 Deploy key Not Found"}` for DELETE of a key not on the project,
// and Grape's `{"error":"404 Not Found"}` for a path that is not an API route.
import * as crypto from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path as sent (still URL-encoded), without the query. */
  rawPath: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, if any. */
  body: any;
  /** Status the client got (0: no answer); set when the answer is sent. */
  status?: number;
  /** The fake applied the request (the real handler ran). */
  applied?: boolean;
}

export interface InjectedResponse {
  /** Only requests with this method (any when unset). */
  method?: string;
  /** Only requests whose raw path contains this (any when unset). */
  pathIncludes?: string;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests get this answer (default 1). */
  times?: number;
  /**
   * Apply the request first (as GitLab behind a proxy does), then answer with this response
   * instead of GitLab's: the write happened, the client only sees `status` (or nothing).
   */
  apply?: boolean;
  /** Close the connection without any answer (`status` is ignored). */
  drop?: boolean;
}

export interface FakeGitLabOptions {
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP. */
  tls?: { key: string; cert: string };
  /**
   * GitLab before 17.1: hooks have no `name` / `description` (doc/api/project_webhooks.md,
   * "name and description attributes introduced in GitLab 17.1"); the API ignores them.
   */
  legacyHooks?: boolean;
}

/**
 * A commit status as GitLab keeps it (a GenericCommitStatus job of an external pipeline):
 * gitlabhq lib/api/commit_statuses.rb `post ':id/statuses/:sha'`, states and transitions of
 * app/models/commit_status.rb.
 */
export interface StoredStatus {
  id: number;
  sha: string;
  ref: string;
  name: string;
  status: "created" | "pending" | "running" | "success" | "failed" | "canceled" | "skipped";
  description: string | null;
  target_url: string | null;
}

/** app/models/commit_status.rb `state_machine :status`: event -> states it may leave. */
const STATUS_EVENTS: Record<
  string,
  { from: StoredStatus["status"][]; to: StoredStatus["status"] }
> = {
  enqueue: { from: ["created", "skipped"], to: "pending" },
  run: { from: ["pending"], to: "running" },
  success: { from: ["created", "pending", "running"], to: "success" },
  drop: { from: ["created", "pending", "running"], to: "failed" },
  cancel: { from: ["created", "pending", "running"], to: "canceled" },
  skip: { from: ["created", "pending"], to: "skipped" },
};

interface Project {
  id: number;
  path: string;
  /** Commits that exist: sha -> the branch that contains it. */
  commits: Map<string, string>;
  /** Every commit status ever posted, oldest first. */
  statuses: StoredStatus[];
  /** The token's user is Maintainer (else 403 on every endpoint). */
  maintainer: boolean;
  /**
   * Branches protected so that the status token's user may neither push nor merge (GitLab's
   * default protection of the default branch: Maintainers only). A status on such a ref is 403.
   */
  protectedFromToken?: Set<string>;
  /** The token can see the project (else 404 Project Not Found; its keys and hooks stay). */
  visible: boolean;
  /** deploy key id -> can_push of the project's link to it. */
  keyLinks: Map<number, boolean>;
  hooks: Map<number, StoredHook>;
  accessTokens: Map<number, StoredAccessToken>;
}

/** A project access token (app/models/personal_access_token.rb of the project's bot user). */
interface StoredAccessToken {
  id: number;
  name: string;
  description: string | null;
  scopes: string[];
  access_level: number;
  /** `YYYY-MM-DD`. */
  expires_at: string;
  created_at: string;
  revoked: boolean;
  user_id: number;
  /** The secret value; only in the create and rotate answers. */
  token: string;
  /** The first token of its rotation family (reuse detection revokes the whole family). */
  family: number;
}

/** Gitlab::Auth.resource_bot_scopes (lib/gitlab/auth.rb). */
const BOT_SCOPES = [
  "api",
  "read_api",
  "read_repository",
  "write_repository",
  "read_registry",
  "write_registry",
  "create_runner",
  "manage_runner",
  "ai_features",
  "k8s_proxy",
  "self_rotate",
];
const ACCESS_LEVEL_VALUES = [10, 15, 20, 30, 40, 50];

interface StoredKey {
  id: number;
  title: string;
  key: string;
  fingerprint: string;
  fingerprint_sha256: string;
  created_at: string;
  expires_at: string | null;
  /** Used by a project the token cannot see. */
  foreign: boolean;
}

interface StoredHook {
  id: number;
  url: string;
  name: string | null;
  description: string | null;
  token: string;
  project_id: number;
  push_events: boolean;
  push_events_branch_filter: string | null;
  enable_ssl_verification: boolean;
  merge_requests_events: boolean;
  /** lib/api/entities/project_hook.rb `expose :note_events`; web_hooks column default false. */
  note_events: boolean;
  tag_push_events: boolean;
  created_at: string;
}

/** One request to a project's deploy keys, hooks or access tokens; no `id` for the collection. */
interface CollectionRequest {
  res: http.ServerResponse;
  method: string;
  project: Project;
  id: number | undefined;
  body: any;
  query: Record<string, string>;
}

const HOOK_BOOLEANS = [
  "push_events",
  "enable_ssl_verification",
  "merge_requests_events",
  "note_events",
  "tag_push_events",
] as const;

/** A syntactically real OpenSSH ed25519 public key from a seed (no private key exists). */
export function fakePublicKey(seed: string, comment = "pulumi@tekton"): string {
  const type = Buffer.from("ssh-ed25519");
  const point = crypto.createHash("sha256").update(seed).digest();
  const blob = Buffer.alloc(4 + type.length + 4 + point.length);
  blob.writeUInt32BE(type.length, 0);
  type.copy(blob, 4);
  blob.writeUInt32BE(point.length, 4 + type.length);
  point.copy(blob, 8 + type.length);
  return `ssh-ed25519 ${blob.toString("base64")}${comment ? ` ${comment}` : ""}`;
}

/** GitLab's SHA256 fingerprint of an OpenSSH public key. */
export function sha256Fingerprint(key: string): string {
  const body = Buffer.from(key.trim().split(/\s+/)[1] ?? "", "base64");
  return `SHA256:${crypto.createHash("sha256").update(body).digest("base64").replace(/=+$/, "")}`;
}

function md5Fingerprint(key: string): string {
  const body = Buffer.from(key.trim().split(/\s+/)[1] ?? "", "base64");
  const hex = crypto.createHash("md5").update(body).digest("hex");
  return hex.match(/../g)!.join(":");
}

/** GitLab keeps the key trimmed, with only the first word of the comment. */
function storedKeyText(key: string): string {
  const [type, body, comment] = key.trim().split(/\s+/);
  return comment ? `${type} ${body} ${comment}` : `${type} ${body}`;
}

function validKey(key: string): boolean {
  const [type, body] = key.trim().split(/\s+/);
  if (!type || !body || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return false;
  const blob = Buffer.from(body, "base64");
  return blob.length > 4 && blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() === type;
}

/** What GitLab blocks unless "Allow requests to the local network" is on. */
function isLocalNetwork(url: URL): boolean {
  const host = url.hostname;
  return (
    host === "localhost" ||
    /^127\./.test(host) ||
    /^10\./.test(host) ||
    /^192\.168\./.test(host) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(host) ||
    /\.(local|internal|svc|cluster\.local)$/.test(host)
  );
}

export class FakeGitLab {
  /** The only token the fake accepts. */
  readonly token: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** GitLab's admin setting "Allow requests to the local network from webhooks...". */
  allowLocalNetwork = false;
  /** GitLab's clock (`Date.current`), for token expiry; the soak sets its virtual clock. */
  now: () => number = Date.now;
  /** Decides a fault for any request (the soak's random faults); after `inject`ed ones. */
  faults?: (request: RecordedRequest) => InjectedResponse | undefined;
  private readonly server: http.Server;
  private readonly scheme: "http" | "https";
  private readonly legacyHooks: boolean;
  private readonly projects: Project[] = [];
  private readonly keys = new Map<number, StoredKey>();
  private readonly injected: InjectedResponse[] = [];
  private nextProjectId = 100;
  private nextKeyId = 1;
  private nextHookId = 1;
  private nextTokenId = 1;
  private nextBotUserId = 1000;
  private nextStatusId = 1;

  private constructor(server: http.Server, token: string, options: FakeGitLabOptions) {
    this.server = server;
    this.token = token;
    this.scheme = options.tls ? "https" : "http";
    this.legacyHooks = options.legacyHooks ?? false;
  }

  static async start(
    token = "glpat-fake-TOKEN-0123456789",
    options: FakeGitLabOptions = {},
  ): Promise<FakeGitLab> {
    const server = options.tls ? https.createServer(options.tls) : http.createServer();
    const fake = new FakeGitLab(server, token, options);
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      fake.handle(req, res).catch((error) => {
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ message: `fake GitLab crashed: ${String(error)}` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  /** Instance URL (no /api/v4), as a user would configure it. */
  get url(): string {
    return `${this.scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Protects `branch` of `path` against the token's user (no push, no merge). */
  protectBranch(path: string, branch: string): void {
    const project = this.projects.find((p) => p.path === path)!;
    project.protectedFromToken = new Set([...(project.protectedFromToken ?? []), branch]);
  }

  addProject(path: string, options: { maintainer?: boolean } = {}): number {
    const id = this.nextProjectId++;
    this.projects.push({
      id,
      path,
      maintainer: options.maintainer ?? true,
      visible: true,
      keyLinks: new Map(),
      hooks: new Map(),
      accessTokens: new Map(),
      commits: new Map(),
      statuses: [],
    });
    return id;
  }

  /** A commit pushed to `branch` of the project (statuses can only be posted for those). */
  addCommit(project: string, sha: string, branch = "main"): void {
    this.project(project)!.commits.set(sha, branch);
  }

  /** The commit statuses of a commit, oldest first (GitLab's `?all=true` view). */
  statusesOf(project: string, sha: string): StoredStatus[] {
    return this.project(project)!.statuses.filter((s) => s.sha === sha);
  }

  /**
   * The token loses sight of the project (its user removed, a token for another account, the
   * project moved): GitLab answers 404 Project Not Found while the keys and hooks stay.
   */
  hideProject(path: string): void {
    this.project(path)!.visible = false;
  }

  /** A deploy key some project the token cannot see already uses. */
  addForeignKey(key: string): void {
    const stored = this.storeKey("someone else's key", key, null);
    stored.foreign = true;
  }

  /** Answers the next matching request(s) with this response instead of the real one. */
  inject(response: InjectedResponse): void {
    this.injected.push({ times: 1, ...response });
  }

  /** Deploy keys of a project as GitLab would list them. */
  deployKeysOf(project: string): Record<string, unknown>[] {
    const p = this.project(project)!;
    return [...p.keyLinks.entries()].map(([id, canPush]) => this.keyEntity(id, canPush));
  }

  /** Removes a key from a project the way a user would in the UI. */
  removeDeployKeyByHand(project: string, keyId: number): void {
    this.project(project)!.keyLinks.delete(keyId);
  }

  /** Renames a key the way a user would in the UI. */
  renameDeployKeyByHand(keyId: number, title: string): void {
    this.keys.get(keyId)!.title = title;
  }

  hooksOf(project: string): Record<string, unknown>[] {
    return [...this.project(project)!.hooks.values()].map((hook) => this.hookEntity(hook));
  }

  /** The secret token GitLab holds for a hook (never returned by the API). */
  hookToken(project: string, hookId: number): string | undefined {
    return this.project(project)!.hooks.get(hookId)?.token;
  }

  /** Edits a hook the way a user would in the UI (the token stays). */
  editHookByHand(
    project: string,
    hookId: number,
    fields: { url?: string; push_events?: boolean; note_events?: boolean },
  ) {
    Object.assign(this.project(project)!.hooks.get(hookId)!, fields);
  }

  /** Adds a hook the way a user would in the UI; returns its id. */
  addHookByHand(project: string, url: string, fields: Partial<StoredHook> = {}): number {
    const p = this.project(project)!;
    const hook: StoredHook = {
      id: this.nextHookId++,
      url,
      name: null,
      description: null,
      token: "",
      project_id: p.id,
      push_events: true,
      push_events_branch_filter: null,
      enable_ssl_verification: true,
      merge_requests_events: false,
      note_events: false,
      tag_push_events: false,
      created_at: new Date().toISOString(),
      ...fields,
    };
    p.hooks.set(hook.id, hook);
    return hook.id;
  }

  removeHookByHand(project: string, hookId: number): void {
    this.project(project)!.hooks.delete(hookId);
  }

  /** Every access token of a project (revoked ones too), as GitLab lists them. */
  accessTokensOf(project: string): Record<string, unknown>[] {
    return [...this.project(project)!.accessTokens.values()].map((t) => this.tokenEntity(t));
  }

  /** The project's active access tokens. */
  activeAccessTokensOf(project: string): Record<string, unknown>[] {
    return this.accessTokensOf(project).filter((t) => t.active === true);
  }

  /** The secret value of a token (GitLab shows it only in the create and rotate answers). */
  accessTokenValue(project: string, tokenId: number): string | undefined {
    return this.project(project)!.accessTokens.get(tokenId)?.token;
  }

  /** Revokes a token the way a user would in the UI. */
  revokeAccessTokenByHand(project: string, tokenId: number): void {
    this.project(project)!.accessTokens.get(tokenId)!.revoked = true;
  }

  /** Requests of one method, optionally only those whose path contains `pathIncludes`. */
  requestsOf(method: string, pathIncludes = ""): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.rawPath.includes(pathIncludes));
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const [rawPath, rawQuery = ""] = (req.url ?? "/").split("?");
    const query = Object.fromEntries(new URLSearchParams(rawQuery));
    let body: any;
    if (
      text &&
      String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded")
    ) {
      // Grape reads form posts as well as JSON (curl --data-urlencode sends these).
      body = Object.fromEntries(new URLSearchParams(text));
    } else if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return this.send(res, 400, { error: "body is not JSON" });
      }
    }
    const method = req.method ?? "GET";
    const recorded: RecordedRequest = { method, rawPath, query, headers: req.headers, body };
    this.requests.push(recorded);
    res.on("finish", () => (recorded.status = res.statusCode));

    let injected = this.injected.find(
      (i) =>
        (i.method === undefined || i.method === method) &&
        (i.pathIncludes === undefined || rawPath.includes(i.pathIncludes)),
    );
    if (injected) {
      injected.times = (injected.times ?? 1) - 1;
      if (injected.times <= 0) this.injected.splice(this.injected.indexOf(injected), 1);
    } else {
      injected = this.faults?.(recorded);
    }
    if (injected) {
      if (injected.apply) {
        // GitLab does the work; its answer is lost on the way back.
        const sink = { writeHead: () => sink, end: () => sink } as unknown as http.ServerResponse;
        recorded.applied = true;
        this.route(req, sink, method, rawPath, body, query);
      }
      if (injected.drop) {
        recorded.status = 0;
        req.socket.destroy();
        return;
      }
      return this.send(res, injected.status, injected.body, injected.headers);
    }
    recorded.applied = true;
    return this.route(req, res, method, rawPath, body, query);
  }

  private route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    method: string,
    rawPath: string,
    body: any,
    query: Record<string, string>,
  ): void {
    if (req.headers["private-token"] !== this.token) {
      return this.send(res, 401, { message: "401 Unauthorized" });
    }
    // Segments are decoded one by one, so `group%2Fapp` is one segment and an unencoded
    // `group/app` is two: the latter matches no route, as on GitLab.
    const segments = rawPath.split("/").filter(Boolean).map(decodeURIComponent);
    if (segments[0] !== "api" || segments[1] !== "v4" || segments[2] !== "projects") {
      return this.send(res, 404, { error: "404 Not Found" });
    }
    const project = this.project(segments[3] ?? "");
    const [collection, itemId, ...rest] = segments.slice(4);
    const known =
      collection === "deploy_keys" ||
      collection === "hooks" ||
      collection === "access_tokens" ||
      collection === "statuses";
    const rotate =
      collection === "access_tokens" && rest.length === 1 && rest[0] === "rotate" && !!itemId;
    if (!known || (rest.length > 0 && !rotate) || segments.length < 5) {
      return this.send(res, 404, { error: "404 Not Found" });
    }
    if (!project || !project.visible) {
      return this.send(res, 404, { message: "404 Project Not Found" });
    }
    if (!project.maintainer) return this.send(res, 403, { message: "403 Forbidden" });
    if (collection === "statuses") return this.postStatus(res, method, project, itemId, body);
    const id = itemId === undefined ? undefined : Number(itemId);
    const request: CollectionRequest = { res, method, project, id, body, query };
    if (collection === "deploy_keys") return this.deployKeys(request);
    if (collection === "access_tokens") return this.accessTokens(request, rotate);
    return this.hooks(request);
  }

  private send(
    res: http.ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (status === 204 || body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const isText = typeof body === "string";
    res.writeHead(status, {
      "Content-Type": isText ? "text/html" : "application/json",
      ...headers,
    });
    res.end(isText ? body : JSON.stringify(body));
  }

  private paginate(
    res: http.ServerResponse,
    items: unknown[],
    query: Record<string, string>,
  ): void {
    const perPage = Math.min(100, Number(query.per_page ?? 20));
    const page = Math.max(1, Number(query.page ?? 1));
    const totalPages = Math.max(1, Math.ceil(items.length / perPage));
    this.send(res, 200, items.slice((page - 1) * perPage, page * perPage), {
      "x-page": String(page),
      "x-per-page": String(perPage),
      "x-total": String(items.length),
      "x-total-pages": String(totalPages),
      "x-next-page": page < totalPages ? String(page + 1) : "",
    });
  }

  /**
   * GET on a collection answers a page of `items()`, any method but POST 405; true when answered,
   * false leaves the POST (the create) to the caller.
   */
  private listedOrRefused(request: CollectionRequest, items: () => unknown[]): boolean {
    const { res, method, query } = request;
    if (method === "GET") {
      this.paginate(res, items(), query);
      return true;
    }
    if (method === "POST") return false;
    this.send(res, 405, { error: "405 Method Not Allowed" });
    return true;
  }

  private project(idOrPath: string): Project | undefined {
    return this.projects.find((p) => String(p.id) === idOrPath || p.path === idOrPath);
  }

  // ---- deploy keys -------------------------------------------------------------------------

  private storeKey(title: string, key: string, expiresAt: string | null): StoredKey {
    const stored: StoredKey = {
      id: this.nextKeyId++,
      title,
      key: storedKeyText(key),
      fingerprint: md5Fingerprint(key),
      fingerprint_sha256: sha256Fingerprint(key),
      created_at: new Date().toISOString(),
      expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString(),
      foreign: false,
    };
    this.keys.set(stored.id, stored);
    return stored;
  }

  private keyEntity(id: number, canPush: boolean): Record<string, unknown> {
    const entity: Record<string, unknown> = { ...this.keys.get(id)!, can_push: canPush };
    // The fake's own mark, not a field of GitLab's DeployKey entity.
    delete entity.foreign;
    return entity;
  }

  private deployKeys(request: CollectionRequest): void {
    const { res, method, project, id, body } = request;
    if (id === undefined) {
      const items = () => [...project.keyLinks.entries()].map(([k, c]) => this.keyEntity(k, c));
      if (this.listedOrRefused(request, items)) return;
      if (!body?.key) return this.send(res, 400, { error: "key is missing" });
      if (!body?.title) return this.send(res, 400, { error: "title is missing" });
      const text = String(body.key).trim();
      const canPush = body.can_push === true;
      // 1. The exact key is already on this project: the existing record, same id, 201.
      for (const [keyId, linkCanPush] of project.keyLinks) {
        if (this.keys.get(keyId)!.key === text) {
          return this.send(res, 201, this.keyEntity(keyId, linkCanPush));
        }
      }
      // 2. The exact key is a deploy key of another project the token can see: attach it.
      const visible = [...this.keys.values()].find(
        (k) =>
          !k.foreign &&
          k.key === text &&
          this.projects.some((p) => p.maintainer && p.keyLinks.has(k.id)),
      );
      if (visible) {
        project.keyLinks.set(visible.id, canPush);
        return this.send(res, 201, this.keyEntity(visible.id, canPush));
      }
      // 3. A new key: it must parse, and its fingerprint must be unused anywhere.
      if (!validKey(text)) {
        return this.send(res, 400, {
          message: {
            "deploy_key.key": ["is invalid"],
            "deploy_key.fingerprint_sha256": ["cannot be generated"],
          },
        });
      }
      const fingerprint = sha256Fingerprint(text);
      if ([...this.keys.values()].some((k) => k.fingerprint_sha256 === fingerprint)) {
        return this.send(res, 400, {
          message: { "deploy_key.fingerprint_sha256": ["has already been taken"] },
        });
      }
      const stored = this.storeKey(String(body.title), text, body.expires_at ?? null);
      project.keyLinks.set(stored.id, canPush);
      return this.send(res, 201, this.keyEntity(stored.id, canPush));
    }

    if (!project.keyLinks.has(id)) {
      // DELETE checks with an explicit not_found!('Deploy key'); GET and PUT use find_by!,
      // whose RecordNotFound GitLab's API turns into its generic record message.
      const message = method === "DELETE" ? "404 Deploy key Not Found" : "404 Not found";
      return this.send(res, 404, { message });
    }
    switch (method) {
      case "GET":
        return this.send(res, 200, this.keyEntity(id, project.keyLinks.get(id)!));
      case "PUT": {
        if (body?.title !== undefined) this.keys.get(id)!.title = String(body.title);
        if (body?.can_push !== undefined) project.keyLinks.set(id, body.can_push === true);
        return this.send(res, 200, this.keyEntity(id, project.keyLinks.get(id)!));
      }
      case "DELETE": {
        project.keyLinks.delete(id);
        const stillUsed = this.projects.some((p) => p.keyLinks.has(id));
        if (!stillUsed && !this.keys.get(id)!.foreign) this.keys.delete(id);
        return this.send(res, 204);
      }
      default:
        return this.send(res, 405, { error: "405 Method Not Allowed" });
    }
  }

  // ---- commit statuses -----------------------------------------------------------------------

  /**
   * `POST /projects/:id/statuses/:sha` as gitlabhq lib/api/commit_statuses.rb does it: Grape
   * validates `state` (400 `state is missing` / `state does not have a valid value`), the commit
   * must exist (404 Commit Not Found), the status updated is the running or pending one with the
   * same name and ref, else a new one; `running` is `enqueue` then `run!`, `pending` `enqueue!`,
   * `success` `success!`, `failed` `drop!`, `canceled` `cancel!`. A refused transition is 400
   * with the state machine's message; success is 201 with the status.
   */
  private postStatus(
    res: http.ServerResponse,
    method: string,
    project: Project,
    sha: string | undefined,
    body: any,
  ): void {
    if (method !== "POST" || sha === undefined) {
      return this.send(res, 405, { error: "405 Method Not Allowed" });
    }
    const state = body?.state;
    if (state === undefined || state === "")
      return this.send(res, 400, { error: "state is missing" });
    const states = ["pending", "running", "success", "failed", "canceled", "skipped"];
    if (!states.includes(state)) {
      return this.send(res, 400, { error: "state does not have a valid value" });
    }
    const branch = project.commits.get(sha);
    if (branch === undefined) return this.send(res, 404, { message: "404 Commit Not Found" });
    const ref = body.ref || branch;
    // app/services/ci/create_commit_status_service.rb `unsafe_execute`: `forbidden unless
    // Ability.allowed?(current_user, :update_pipeline, pipeline)`; app/policies/ci/
    // pipeline_policy.rb prevents :update_pipeline unless UserAccess#can_update_branch?(ref)
    // (lib/gitlab/user_access.rb: may push to or merge into it).
    if (project.protectedFromToken?.has(ref)) {
      return this.send(res, 403, { message: "403 Forbidden" });
    }
    const name = body.name || body.context || "default";
    let status = project.statuses.find(
      (s) =>
        s.sha === sha &&
        s.name === name &&
        s.ref === ref &&
        (s.status === "running" || s.status === "pending"),
    );
    const draft: StoredStatus = status
      ? { ...status }
      : {
          id: this.nextStatusId,
          sha,
          ref,
          name,
          status: "created",
          description: null,
          target_url: null,
        };
    if (body.description !== undefined) draft.description = body.description;
    if (body.target_url !== undefined) draft.target_url = body.target_url;
    const fire = (event: string, bang: boolean): string | undefined => {
      const rule = STATUS_EVENTS[event];
      if (rule.from.includes(draft.status)) {
        draft.status = rule.to;
        return undefined;
      }
      return bang
        ? `Cannot transition status via :${event} from :${draft.status} (Reason(s): Status cannot transition via "${event}")`
        : undefined;
    };
    const refused =
      state === "running"
        ? (fire("enqueue", false), fire("run", true))
        : fire(
            {
              pending: "enqueue",
              success: "success",
              failed: "drop",
              canceled: "cancel",
              skipped: "skip",
            }[state as string]!,
            true,
          );
    if (refused) return this.send(res, 400, { message: refused });
    if (status) {
      Object.assign(status, draft);
    } else {
      status = draft;
      this.nextStatusId++;
      project.statuses.push(status);
    }
    return this.send(res, 201, { ...status, allow_failure: false, coverage: null });
  }

  // ---- hooks -------------------------------------------------------------------------------

  private hookEntity(hook: StoredHook): Record<string, unknown> {
    // The token is write-only.
    const entity: Record<string, unknown> = { ...hook, alert_status: "executable" };
    delete entity.token;
    // lib/api/entities/hook.rb exposes name and description (GitLab 17.1+).
    if (this.legacyHooks) {
      delete entity.name;
      delete entity.description;
    }
    return { ...entity, disabled_until: null };
  }

  /** 422 body for a URL GitLab refuses, or undefined when it is acceptable. */
  private urlProblem(raw: unknown): unknown {
    let url: URL;
    try {
      url = new URL(String(raw));
    } catch {
      return { error: "Invalid url given" };
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return { error: "Invalid url given" };
    }
    if (!this.allowLocalNetwork && isLocalNetwork(url)) return { error: "Invalid url given" };
    return undefined;
  }

  private hooks(request: CollectionRequest): void {
    const { res, method, project, id, body } = request;
    if (id === undefined) {
      const items = () => [...project.hooks.values()].map((h) => this.hookEntity(h));
      if (this.listedOrRefused(request, items)) return;
      if (!body?.url) return this.send(res, 400, { error: "url is missing" });
      const problem = this.urlProblem(body.url);
      if (problem) return this.send(res, 422, problem);
      const hook: StoredHook = {
        id: this.nextHookId++,
        url: String(body.url),
        // Before 17.1 GitLab drops the undeclared params (Grape `declared_params`).
        name: this.legacyHooks ? null : (body.name ?? null),
        description: this.legacyHooks ? null : (body.description ?? null),
        token: body.token ?? "",
        project_id: project.id,
        push_events: body.push_events ?? true,
        push_events_branch_filter: body.push_events_branch_filter || null,
        enable_ssl_verification: body.enable_ssl_verification ?? true,
        merge_requests_events: body.merge_requests_events ?? false,
        note_events: body.note_events ?? false,
        tag_push_events: body.tag_push_events ?? false,
        created_at: new Date().toISOString(),
      };
      project.hooks.set(hook.id, hook);
      return this.send(res, 201, this.hookEntity(hook));
    }

    const hook = project.hooks.get(id);
    if (!hook) return this.send(res, 404, { message: "404 Not found" });
    switch (method) {
      case "GET":
        return this.send(res, 200, this.hookEntity(hook));
      case "PUT": {
        if (body?.url !== undefined) {
          const problem = this.urlProblem(body.url);
          if (problem) return this.send(res, 422, problem);
          // GitLab's trap: a new URL without the token in the same request erases the token.
          if (body.url !== hook.url && body.token === undefined) hook.token = "";
          hook.url = String(body.url);
        }
        if (body?.token !== undefined) hook.token = String(body.token);
        if (!this.legacyHooks && body?.name !== undefined) hook.name = body.name;
        if (!this.legacyHooks && body?.description !== undefined) {
          hook.description = body.description;
        }
        for (const field of HOOK_BOOLEANS) {
          if (body?.[field] !== undefined) hook[field] = body[field] === true;
        }
        if (body?.push_events_branch_filter !== undefined) {
          hook.push_events_branch_filter = body.push_events_branch_filter || null;
        }
        return this.send(res, 200, this.hookEntity(hook));
      }
      case "DELETE":
        project.hooks.delete(id);
        return this.send(res, 204);
      default:
        return this.send(res, 405, { error: "405 Method Not Allowed" });
    }
  }

  // ---- project access tokens ----------------------------------------------------------------
  // lib/api/resource_access_tokens.rb with app/services/resource_access_tokens/create_service.rb,
  // .../revoke_service.rb and app/services/personal_access_tokens/rotate_service.rb.

  private today(): string {
    return new Date(this.now()).toISOString().slice(0, 10);
  }

  /** `Date.current.advance(days:)` as `YYYY-MM-DD`. */
  private dayAfter(days: number): string {
    return new Date(Date.parse(`${this.today()}T00:00:00Z`) + days * 86_400_000)
      .toISOString()
      .slice(0, 10);
  }

  private tokenEntity(token: StoredAccessToken): Record<string, unknown> {
    const entity: Record<string, unknown> = { ...token };
    delete entity.token;
    delete entity.family;
    // PersonalAccessToken#active?: not revoked and not expired.
    entity.active = !token.revoked && token.expires_at > this.today();
    entity.last_used_at = null;
    return entity;
  }

  /** `expires_at_before_instance_max_expiry_date` (app/models/personal_access_token.rb). */
  private expiryProblem(expiresAt: unknown): string | undefined {
    if (typeof expiresAt !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(expiresAt)) {
      return "expires_at is invalid";
    }
    const max = this.dayAfter(365);
    if (expiresAt > max) return `Expires at must be before ${max}`;
    return undefined;
  }

  private accessTokens(request: CollectionRequest, rotate: boolean): void {
    const { res, method, project, id, body } = request;
    const tokens = project.accessTokens;
    if (id === undefined) {
      const items = () => [...tokens.values()].map((t) => this.tokenEntity(t));
      if (this.listedOrRefused(request, items)) return;
      // Grape's declared params first, as GitLab answers them.
      if (!body?.name) return this.send(res, 400, { error: "name is missing" });
      if (!Array.isArray(body.scopes) || body.scopes.length === 0) {
        return this.send(res, 400, { error: "scopes is missing" });
      }
      if (body.scopes.some((s: unknown) => !BOT_SCOPES.includes(String(s)))) {
        return this.send(res, 400, { error: "scopes does not have a valid value" });
      }
      const level = body.access_level ?? 40;
      if (!ACCESS_LEVEL_VALUES.includes(level)) {
        return this.send(res, 400, { error: "access_level does not have a valid value" });
      }
      // The token's user is Maintainer: it cannot hand out Owner (CreateService
      // validate_access_level).
      if (level > 40) {
        return this.send(res, 400, {
          message:
            "400 Bad request - Access level of the token contains permissions not held by the creating user",
        });
      }
      const expiresAt = body.expires_at ?? this.dayAfter(365);
      const problem = this.expiryProblem(expiresAt);
      if (problem) return this.send(res, 400, { message: `400 Bad request - ${problem}` });
      const stored = this.storeToken(project, {
        name: String(body.name),
        description: body.description ?? null,
        scopes: body.scopes.map(String),
        access_level: level,
        expires_at: expiresAt,
        user_id: this.nextBotUserId++,
      });
      return this.send(res, 201, { ...this.tokenEntity(stored), token: stored.token });
    }

    const token = tokens.get(id);
    if (rotate) {
      if (method !== "POST") return this.send(res, 405, { error: "405 Method Not Allowed" });
      // "Only admins should be informed if the token doesn't exist".
      if (!token) return this.send(res, 401, { message: "401 Unauthorized" });
      if (token.revoked) {
        // Reuse detection: rotating a revoked token revokes its family's active tokens.
        for (const other of tokens.values()) {
          if (other.family === token.family) other.revoked = true;
        }
        return this.send(res, 400, { message: "400 Bad request - Token already revoked" });
      }
      const expiresAt = body?.expires_at ?? this.dayAfter(7);
      const problem = this.expiryProblem(expiresAt);
      if (problem) return this.send(res, 400, { message: `400 Bad request - ${problem}` });
      // One transaction: revoke, then a new token with the same name, description, scopes.
      token.revoked = true;
      const next = this.storeToken(project, {
        name: token.name,
        description: token.description,
        scopes: token.scopes,
        access_level: token.access_level,
        expires_at: expiresAt,
        user_id: token.user_id,
        family: token.family,
      });
      return this.send(res, 200, { ...this.tokenEntity(next), token: next.token });
    }
    if (!token) return this.send(res, 404, { message: "404 project Access Token Not Found" });
    switch (method) {
      case "GET":
        return this.send(res, 200, this.tokenEntity(token));
      case "DELETE":
        token.revoked = true;
        return this.send(res, 204);
      default:
        return this.send(res, 405, { error: "405 Method Not Allowed" });
    }
  }

  private storeToken(
    project: Project,
    fields: Omit<StoredAccessToken, "id" | "created_at" | "revoked" | "token" | "family"> & {
      family?: number;
    },
  ): StoredAccessToken {
    const id = this.nextTokenId++;
    const stored: StoredAccessToken = {
      ...fields,
      id,
      family: fields.family ?? id,
      created_at: new Date(this.now()).toISOString(),
      revoked: false,
      token: `glpat-${crypto.randomBytes(10).toString("hex")}`,
    };
    project.accessTokens.set(id, stored);
    return stored;
  }
}
