// When to retry a GitLab request and how long to wait. Pure functions: the client owns the
// loop and the clock, so tests can assert the waits without sleeping.

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  /** First backoff step; doubled per attempt. */
  baseDelayMs: number;
  /** Cap of one backoff step (not of a wait GitLab asked for). */
  maxDelayMs: number;
  /**
   * Cap of all waits of one request together. A wait GitLab asks for that does not fit is not
   * started: the request fails at once with the rate-limit error instead of hanging `pulumi up`.
   */
  maxTotalDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxTotalDelayMs: 120_000,
};

/** Methods GitLab applies at most once however often they are sent. */
export function isIdempotent(method: string): boolean {
  return ["GET", "HEAD", "PUT", "DELETE"].includes(method.toUpperCase());
}

/** Header access as `fetch`'s `Headers` offers it. */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * The wait GitLab asked for on a 429 (or 503): `Retry-After` in seconds or as an HTTP date,
 * else `RateLimit-Reset` as epoch seconds. Undefined when it asked for nothing usable.
 */
export function requestedWaitMs(headers: HeaderReader, nowMs: number): number | undefined {
  const retryAfter = headers.get("retry-after")?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.round(Number(retryAfter) * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - nowMs);
  }
  const reset = headers.get("ratelimit-reset")?.trim();
  if (reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - nowMs);
  return undefined;
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so concurrent
 * Pulumi resources hitting the same limit spread out without ever retrying immediately.
 */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

export type RetryDecision =
  { retry: true; delayMs: number; reason: string } | { retry: false; reason: string };

/**
 * Decides what to do after attempt `attempt` (1-based) got `status` (or no answer at all when
 * status is undefined). `waitedMs` is what this request already waited.
 */
export function decideRetry(input: {
  method: string;
  status: number | undefined;
  headers?: HeaderReader;
  attempt: number;
  waitedMs: number;
  policy: RetryPolicy;
  nowMs: number;
  random: () => number;
}): RetryDecision {
  const { method, status, attempt, policy } = input;
  let delayMs: number;
  let reason: string;
  if (status === 429) {
    // A 429 is refused before any work is done, so even a POST is safe to send again.
    const asked = input.headers ? requestedWaitMs(input.headers, input.nowMs) : undefined;
    delayMs = asked ?? backoffMs(attempt, policy, input.random);
    reason = asked === undefined ? "rate limited (no Retry-After)" : "rate limited";
  } else if (status === undefined || status >= 500) {
    // A POST that failed with 5xx (or no answer) may still have created the hook or key;
    // sending it again could create a duplicate, so only idempotent requests are retried.
    if (!isIdempotent(method)) {
      return { retry: false, reason: `${method} is not retried after a server error` };
    }
    const asked =
      status === 503 && input.headers ? requestedWaitMs(input.headers, input.nowMs) : undefined;
    delayMs = asked ?? backoffMs(attempt, policy, input.random);
    reason = status === undefined ? "no answer" : `server error ${status}`;
  } else {
    return { retry: false, reason: `status ${status} is not retryable` };
  }
  if (attempt >= policy.maxAttempts) {
    return { retry: false, reason: `${reason}; gave up after ${attempt} attempts` };
  }
  if (input.waitedMs + delayMs > policy.maxTotalDelayMs) {
    return {
      retry: false,
      reason: `${reason}; waiting ${Math.ceil(delayMs / 1000)}s more would exceed the retry budget`,
    };
  }
  return { retry: true, delayMs, reason };
}
