// Errors of the GitLab client. Every message says what failed, what GitLab answered and what to
// do about it, and none of them ever contains the API token: messages are built only from the
// method, the path (tokens travel in a header, never in the URL), GitLab's own message and the
// context the caller passed, and are redacted once more before they are thrown.

/** What a request was about, so an error can name the project, the hook URL or the field. */
export interface RequestContext {
  /** Human description of the operation, e.g. `create deploy key "ci" on project "a/b"`. */
  operation: string;
  /** The project as the user wrote it (path or numeric id). */
  project?: string;
  /** The hook URL sent with the request, for 422 hints. */
  hookUrl?: string;
}

/** A request GitLab answered with an error status (after any retries). */
export class GitLabApiError extends Error {
  /** HTTP status GitLab answered. */
  readonly status: number;
  /** HTTP method of the failed request. */
  readonly method: string;
  /** Path below `/api/v4` of the failed request. */
  readonly path: string;
  /** GitLab's own message, flattened to one line. */
  readonly gitlabMessage: string;
  /** What the user can do about it, when we know. */
  readonly hint?: string;

  constructor(fields: {
    status: number;
    method: string;
    path: string;
    gitlabMessage: string;
    hint?: string;
    context: RequestContext;
    attempts: number;
  }) {
    const retried = fields.attempts > 1 ? ` after ${fields.attempts} attempts` : "";
    const hint = fields.hint ? ` ${fields.hint}` : "";
    super(
      `GitLab could not ${fields.context.operation}: ${fields.method} ${fields.path} answered ` +
        `${fields.status} ${fields.gitlabMessage}${retried}.${hint}`,
    );
    this.name = "GitLabApiError";
    this.status = fields.status;
    this.method = fields.method;
    this.path = fields.path;
    this.gitlabMessage = fields.gitlabMessage;
    this.hint = fields.hint;
  }
}

/** GitLab could not be reached at all (DNS, TLS, refused connection, timeout). */
export class GitLabNetworkError extends Error {
  constructor(operation: string, baseUrl: string, cause: string, attempts: number) {
    const retried = attempts > 1 ? ` after ${attempts} attempts` : "";
    super(
      `GitLab could not ${operation}: no answer from ${baseUrl}${retried} (${cause}). ` +
        "Check gitlab:baseUrl (or GITLAB_BASE_URL) and that this machine can reach it.",
    );
    this.name = "GitLabNetworkError";
  }
}

/** Missing or malformed provider configuration (gitlab:baseUrl, gitlab:token). */
export class GitLabConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GitLabConfigError";
  }
}

/** True when the error is GitLab answering 404 (the object, or its project, is gone). */
export function isNotFound(error: unknown): boolean {
  return (error as { status?: unknown } | undefined)?.status === 404;
}

/** Runs a delete; a 404 means someone removed the object already, which is what we wanted. */
export async function deleteUnlessGone(remove: () => Promise<void>): Promise<void> {
  try {
    await remove();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/**
 * Flattens GitLab's error bodies to one line. GitLab answers `{"message": "..."}`,
 * `{"message": {"field": ["reason", ...]}}`, `{"error": "..."}` or, from a proxy in front of it,
 * HTML; the last is replaced by the status text rather than dumped into the user's terminal.
 */
export function gitlabMessageOf(body: string, contentType: string, statusText: string): string {
  if (!contentType.includes("json")) return statusText || "(no message)";
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return statusText || "(unreadable body)";
  }
  const record = (parsed ?? {}) as Record<string, unknown>;
  const message = record.message ?? record.error ?? record.error_description;
  if (typeof message === "string") return message;
  if (message && typeof message === "object") {
    return Object.entries(message as Record<string, unknown>)
      .map(([field, reasons]) =>
        `${field} ${Array.isArray(reasons) ? reasons.join(", ") : String(reasons)}`.trim(),
      )
      .join("; ");
  }
  return statusText || "(no message)";
}

/** The advice that goes with a status, given what the request was about. */
export function hintFor(status: number, gitlabMessage: string, context: RequestContext): string {
  const project = context.project === undefined ? "the project" : `"${context.project}"`;
  const lower = gitlabMessage.toLowerCase();
  switch (status) {
    case 400:
      if (lower.includes("fingerprint")) {
        return (
          "This public key is already a deploy key somewhere the token cannot see (another " +
          "project or a user key); GitLab will not register it twice. Use a key generated for " +
          `${project} (e.g. a tls.PrivateKey owned by this stack), or remove the other use.`
        );
      }
      if (lower.includes("key") && lower.includes("invalid")) {
        return "The key is not a valid OpenSSH public key (expected e.g. `ssh-ed25519 AAAA...`).";
      }
      return "Check the arguments named in GitLab's message.";
    case 401:
      return (
        "GitLab did not accept the token: check gitlab:token (or GITLAB_TOKEN) is a valid, " +
        "unexpired personal, group or project access token with the `api` scope."
      );
    case 403:
      return `The token needs the Maintainer role on project ${project}.`;
    case 404:
      if (lower.includes("project")) {
        return (
          `Project ${project} was not found or is not visible to the token: check the full ` +
          "path (group/subgroup/name) or numeric id, and that the token's user is a member."
        );
      }
      return `It no longer exists on project ${project} (deleted outside Pulumi?).`;
    case 422:
      if (lower.includes("branch filter")) {
        return "Check pushEventsBranchFilter (a branch name, wildcard pattern or regex).";
      }
      if (context.hookUrl !== undefined) {
        return (
          `GitLab refused the hook URL "${context.hookUrl}". If it is on a private or local ` +
          "network (a cluster address, 10.x, 172.16-31.x, 192.168.x, localhost), a GitLab " +
          'administrator must enable "Allow requests to the local network from webhooks and ' +
          'integrations" (Admin > Settings > Network > Outbound requests), or expose the ' +
          "listener at a public URL."
        );
      }
      return "GitLab rejected a value; check the arguments named in its message.";
    case 429:
      return "GitLab kept rate-limiting the requests; wait a moment and run again.";
    default:
      return status >= 500 ? "GitLab had a server error; try again later." : "";
  }
}

/** Replaces every occurrence of the given secrets in text (defence in depth for messages). */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out;
}
