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
  /**
   * The one existing object the request addresses (`deploy key 7`, `hook 3`), for requests
   * that read, update or delete it; unset for lists and creates.
   */
  object?: string;
}

/**
 * What a 404 is about. GitLab names the missing thing in its message: `404 Project Not Found`
 * when the project is missing or not visible to the token, `404 Not found` (a record lookup)
 * or `404 Deploy key Not Found` when the key or hook is missing from an existing project.
 * Anything else (an HTML page from a proxy, Grape's `{"error":"404 Not Found"}` for a path
 * that is not an API route, as a wrong gitlab:baseUrl gives) is `unknown`.
 */
export type NotFoundSubject = "object" | "project" | "unknown";

// The errors are plain `Error` objects with fields, not subclasses of Error: the provider
// code runs from Pulumi's serialized closure, which turns `class X extends Error` into a
// function that runs `Error.call(this, message)`. That sets no message, no stack and no
// Error prototype, and the provider host reports `error.message`, so every hint below would
// reach the user as an empty error. Tell them apart by `name` (see the guards below).
function namedError<T extends object>(name: string, message: string, fields: T): Error & T {
  const error = new Error(message);
  error.name = name;
  // Captured again after the name is set, so the stack's first line names the error too.
  Error.captureStackTrace?.(error);
  return Object.assign(error, fields);
}

/** A request GitLab answered with an error status (after any retries). */
export interface GitLabApiError extends Error {
  name: "GitLabApiError";
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
  /** For a 404: whether GitLab said the object, or its project, is missing. */
  readonly notFound?: NotFoundSubject;
  /** A write that GitLab may have applied although no usable answer came back. */
  readonly ambiguous?: boolean;
}

export function gitlabApiError(fields: {
  status: number;
  /** The HTTP reason phrase (`Unauthorized`); may be empty (HTTP/2). */
  statusText?: string;
  method: string;
  path: string;
  gitlabMessage: string;
  hint?: string;
  notFound?: NotFoundSubject;
  context: RequestContext;
  attempts: number;
  ambiguous?: boolean;
  /** Replaces "answered <status...>" when the answer itself is the problem. */
  answer?: string;
}): GitLabApiError {
  const retried = fields.attempts > 1 ? ` after ${fields.attempts} attempts` : "";
  const hint = fields.hint ? ` ${fields.hint}` : "";
  const answer =
    fields.answer ?? describeAnswer(fields.status, fields.statusText ?? "", fields.gitlabMessage);
  const message =
    `GitLab could not ${fields.context.operation}: ${fields.method} ${fields.path} answered ` +
    `${answer}${retried}.${hint}`;
  return namedError("GitLabApiError", message, {
    status: fields.status,
    method: fields.method,
    path: fields.path,
    gitlabMessage: fields.gitlabMessage,
    hint: fields.hint,
    notFound: fields.notFound,
    ambiguous: fields.ambiguous ?? false,
  }) as GitLabApiError;
}

export function isGitLabApiError(error: unknown): error is GitLabApiError {
  return error instanceof Error && error.name === "GitLabApiError";
}

/**
 * The status and GitLab's message, without saying the status twice: GitLab's messages often
 * start with it (`401 Unauthorized`, `404 Project Not Found`), others do not (`Invalid url
 * given`), and for a body that is not GitLab's JSON the message is the reason phrase itself.
 */
export function describeAnswer(status: number, statusText: string, gitlabMessage: string): string {
  const message = gitlabMessage.trim().replace(/\.+$/, "");
  const reason = statusText.trim();
  const head = reason ? `${status} ${reason}` : String(status);
  if (message === "" || message === reason || message === head) return head;
  if (message.startsWith(`${status} `)) return message;
  return `${head}: ${message}`;
}

/** GitLab could not be reached at all (DNS, TLS, refused connection, timeout). */
export interface GitLabNetworkError extends Error {
  name: "GitLabNetworkError";
  /** The request may have reached GitLab (connection dropped or timed out after sending). */
  readonly ambiguous?: boolean;
}

/**
 * Node's codes for a TLS certificate GitLab's server presented but this machine does not
 * trust (node:tls / OpenSSL verify errors). Nothing was sent: the handshake failed first.
 */
export function isCertificateFailure(cause: string): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|certificate/i.test(cause);
}

/** Failures where the request never left this machine (so nothing can have been applied). */
export function isNotSent(cause: string): boolean {
  return (
    isCertificateFailure(cause) ||
    /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ERR_INVALID_URL)$/.test(cause)
  );
}

export function gitlabNetworkError(
  operation: string,
  baseUrl: string,
  cause: string,
  attempts: number,
  ambiguous = false,
): GitLabNetworkError {
  const retried = attempts > 1 ? ` after ${attempts} attempts` : "";
  const advice = isCertificateFailure(cause)
    ? "GitLab's TLS certificate is not trusted by this machine. If GitLab uses a private CA, " +
      "set gitlab:cacertFile to the CA's PEM file (`pulumi config set gitlab:cacertFile " +
      "/path/ca.pem`); only for a throw-away lab, gitlab:insecure=true skips verification."
    : "Check gitlab:baseUrl (or GITLAB_BASE_URL) and that this machine can reach it.";
  return namedError(
    "GitLabNetworkError",
    `GitLab could not ${operation}: no answer from ${baseUrl}${retried} (${cause}). ${advice}`,
    { ambiguous },
  ) as GitLabNetworkError;
}

/**
 * True for a POST that may have been applied although no usable answer came back: the
 * connection dropped after sending, a 5xx (a proxy's 502/504 often arrives after GitLab did
 * the work), a redirect or a page that is not GitLab's JSON. The providers then ask GitLab
 * what it did; they never send the POST again blind.
 */
export function isAmbiguousWrite(error: unknown): boolean {
  return (error as { ambiguous?: unknown } | undefined)?.ambiguous === true;
}

/** Missing or malformed provider configuration (gitlab:baseUrl, gitlab:token). */
export interface GitLabConfigError extends Error {
  name: "GitLabConfigError";
}

export function gitlabConfigError(message: string): GitLabConfigError {
  return namedError("GitLabConfigError", message, {}) as GitLabConfigError;
}

/**
 * True only when GitLab said the addressed key or hook is missing from a project that exists.
 * A 404 for the project (token lost access, wrong project, another instance behind a wrong
 * gitlab:baseUrl) does not mean the key is gone: taking it as gone would let `pulumi destroy`
 * report success while a write-enabled deploy key stays in GitLab.
 */
export function isGone(error: unknown): boolean {
  const fields = error as { status?: unknown; notFound?: unknown } | undefined;
  return fields?.status === 404 && fields.notFound === "object";
}

/**
 * Runs a call on one key or hook; undefined when GitLab says the object itself is gone
 * (removed by hand). A missing project still throws: see isGone.
 */
export async function unlessGone<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

/** Reads what a 404 body is about (see NotFoundSubject). Only GitLab's JSON `message` counts. */
export function notFoundSubjectOf(body: string, contentType: string): NotFoundSubject {
  if (!contentType.includes("json")) return "unknown";
  let message: unknown;
  try {
    message = (JSON.parse(body) as { message?: unknown } | null)?.message;
  } catch {
    return "unknown";
  }
  if (typeof message !== "string") return "unknown";
  const text = message.trim();
  if (/^404 project not found$/i.test(text)) return "project";
  // `404 Not found` is what GitLab's API answers for any record lookup that fails below an
  // existing project (`find`/`find_by!`); the named forms come from explicit `not_found!`.
  // Access tokens: `not_found!("project Access Token")` (lib/api/resource_access_tokens.rb).
  if (/^404 ((deploy[ _]key|project hook|hook|project access token) )?not found$/i.test(text)) {
    return "object";
  }
  return "unknown";
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
export function hintFor(
  status: number,
  gitlabMessage: string,
  context: RequestContext,
  notFound?: NotFoundSubject,
): string {
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
    case 404: {
      const subject = notFound ?? (lower.includes("project") ? "project" : "object");
      if (subject === "project") {
        // Nothing is known about the key or hook: it may well still exist (and a deploy key
        // may still grant access), so the user has to decide, not the provider.
        const forget =
          context.object === undefined
            ? ""
            : ` Only if the project itself was deleted (and ${context.object} with it), run ` +
              "`pulumi state delete <urn>` so Pulumi forgets this resource.";
        return (
          `Project ${project} was not found or is not visible to the token: check the full ` +
          "path (group/subgroup/name) or numeric id, that the token's user is still a member, " +
          `and that gitlab:baseUrl is the instance that hosts it.${forget}`
        );
      }
      if (subject === "unknown") {
        return (
          "The answer does not come from GitLab's API for this project (a proxy page or a path " +
          "the API does not serve): check gitlab:baseUrl (or GITLAB_BASE_URL) is the GitLab " +
          `instance URL, including its sub-path if it has one, and that project ${project} exists.`
        );
      }
      const what = context.object === undefined ? "It" : `The ${context.object}`;
      return (
        `${what} no longer exists on project ${project} (deleted outside Pulumi?); ` +
        "`pulumi refresh` drops it from the state."
      );
    }
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

/** How often a provider asks GitLab what became of an ambiguous write (each with retries). */
const RECONCILE_ROUNDS = 2;

/**
 * Asks GitLab (up to RECONCILE_ROUNDS times) for the objects an ambiguous write may have
 * created: `listed`, or undefined with the last `failure` when GitLab could not be asked.
 */
export async function listAfterWrite<T>(
  list: () => Promise<T[]>,
): Promise<{ listed?: T[]; failure?: unknown }> {
  let failure: unknown;
  for (let round = 0; round < RECONCILE_ROUNDS; round++) {
    try {
      return { listed: await list() };
    } catch (error) {
      failure = error;
    }
  }
  return { failure };
}

/**
 * An ambiguous write that GitLab, asked afterwards, shows was not applied: nothing was left
 * behind, so running again is safe.
 */
export function writeNotAppliedError(original: Error, checked: string): Error {
  return namedError(
    original.name,
    `${original.message} GitLab did not create it: ${checked}, so nothing was left behind ` +
      "and the POST was not sent again. Running `pulumi up` again is safe.",
    { ...pickFields(original) },
  );
}

/**
 * An ambiguous write whose outcome could not be found out: the object may exist. Says what
 * the provider did (did not resend, tried to look) and what the user should check.
 */
export function writeMayExistError(
  original: Error,
  what: string,
  lookedWith: string,
  failure: string,
  where: string,
  next?: string,
): Error {
  return namedError(
    original.name,
    `${original.message} The ${what} may exist in GitLab: the request may have been applied ` +
      `before the answer was lost. The POST was not sent again (that could make a second ` +
      `${what}); the provider then tried to ${lookedWith} to find it, and could not: ${failure} ` +
      (next ??
        `Before the next \`pulumi up\`, look at ${where} and delete a ${what} you do not ` +
          "want there, or the next run adds another one."),
    { ...pickFields(original), ambiguous: true },
  );
}

/**
 * The object exists in GitLab (created or found) but a later step failed. Thrown with `id` and
 * `properties`, the Node.js dynamic provider host reports it as ErrorResourceInitFailed
 * (@pulumi/pulumi sdk/nodejs/cmd/dynamic-provider/index.ts, grpcResponseFromError) and the
 * engine keeps the resource in the state as a partial failure (pkg/resource/deploy/step.go,
 * CreateStep.Apply: `resp.Status == StatusPartialFailure` keeps `resp.ID` and its outputs), so
 * `destroy` deletes it without a rerun. The host does not add `__provider` to these
 * properties (it does for a successful create, resultIncludingProvider), so the caller copies
 * it from the inputs: `delete` needs it to load the provider.
 */
export function partiallyCreated(
  error: unknown,
  id: string,
  properties: Record<string, unknown>,
): Error {
  const base = error instanceof Error ? error : new Error(String(error));
  return Object.assign(base, { id, properties });
}

function pickFields(error: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of ["status", "method", "path", "gitlabMessage", "hint", "notFound"]) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) fields[key] = value;
  }
  return fields;
}

/** An error's message without its advice, to quote it inside another error's message. */
export function withoutHint(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const hint = (error as { hint?: unknown }).hint;
  if (typeof hint === "string" && hint !== "" && error.message.endsWith(` ${hint}`)) {
    return error.message.slice(0, -hint.length - 1);
  }
  return error.message;
}
