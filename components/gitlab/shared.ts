// Helpers both dynamic providers share: ids, validation and value comparisons. Loaded with the
// providers in the provider process (the soak still serializes them by value), so no imports
// but Node built-ins.
import type { CheckFailure } from "@pulumi/pulumi/dynamic";
import { createHash } from "node:crypto";

/**
 * What the Node.js dynamic provider host passes for a value that is not known yet (a preview
 * with an input computed by another resource). Such values cannot be validated or compared.
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}

/** `<project>:<id>`, the official GitLab provider's id format. */
export function formatId(project: string, id: number): string {
  return `${project}:${id}`;
}

/** Splits `<project>:<id>`; the project is everything before the last colon. */
export function parseId(id: string, what: string): { project: string; id: number } {
  const colon = id.lastIndexOf(":");
  const numeric = Number(id.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(numeric) || numeric <= 0) {
    throw new Error(
      `${what} id must look like <project>:<numeric id> (e.g. group/app:12); got "${id}".`,
    );
  }
  return { project: id.slice(0, colon), id: numeric };
}

/**
 * Drops undefined properties. Provider results travel as protobuf Structs, which reject
 * `undefined` ("Unexpected struct type") where they accept an absent property.
 */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** GitLab project: a numeric id or a full path such as `group/subgroup/name`. */
export const PROJECT_PATTERN =
  /^(\d+|[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+)$/;

export function checkProject(value: unknown, failures: CheckFailure[]): void {
  if (isUnknown(value)) return;
  if (typeof value !== "string" || !PROJECT_PATTERN.test(value)) {
    failures.push({
      property: "project",
      reason:
        "project must be the project's full path (e.g. group/app, without the instance URL " +
        `or .git) or its numeric id; got ${JSON.stringify(value)}.`,
    });
  }
}

export function checkString(
  property: string,
  value: unknown,
  failures: CheckFailure[],
  required: boolean,
): void {
  if (isUnknown(value) || (!required && value === undefined)) return;
  if (typeof value !== "string" || (required && value.trim() === "")) {
    failures.push({
      property,
      reason: `${property} must be a ${required ? "non-empty " : ""}string; got ${typeof value}.`,
    });
  }
}

export function checkBoolean(property: string, value: unknown, failures: CheckFailure[]): void {
  if (isUnknown(value) || value === undefined) return;
  if (typeof value !== "boolean") {
    failures.push({ property, reason: `${property} must be true or false; got ${typeof value}.` });
  }
}

/** An ISO 8601 date (`2030-01-31`) or date-time, as GitLab's `expires_at` takes. */
export function checkIsoDate(property: string, value: unknown, failures: CheckFailure[]): void {
  if (isUnknown(value) || value === undefined) return;
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
  if (typeof value !== "string" || !iso.test(value) || Number.isNaN(Date.parse(value))) {
    failures.push({
      property,
      reason: `${property} must be an ISO 8601 date such as 2030-01-31; got ${JSON.stringify(value)}.`,
    });
  }
}

/**
 * GitLab answers `2030-01-31T00:00:00.000Z` for `2030-01-31`: compare instants, not strings,
 * or every refresh would plan a replacement.
 */
export function sameInstant(a: string | null | undefined, b: string | null | undefined): boolean {
  const empty = (v: string | null | undefined) => v === undefined || v === null || v === "";
  if (empty(a) || empty(b)) return empty(a) && empty(b);
  const ta = Date.parse(a as string);
  const tb = Date.parse(b as string);
  return Number.isNaN(ta) || Number.isNaN(tb) ? a === b : ta === tb;
}

/**
 * GitLab's `SHA256:` fingerprint of an OpenSSH public key: SHA-256 of the decoded key blob,
 * base64 without padding, as `ssh-keygen -l` prints it. GitLab: lib/gitlab/ssh_public_key.rb
 * `fingerprint_sha256` = `'SHA256:' + key.fingerprint(md5: false)` (ssh_data gem: base64 of
 * the SHA-256 digest of the blob, `=` padding removed); app/models/key.rb stores it (without
 * the prefix) and the API shows it with it. Undefined for text that is not `<type> <base64>`.
 */
export function keyFingerprintSha256(key: string): string | undefined {
  const body = key.trim().split(/\s+/)[1];
  if (!body || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return undefined;
  const digest = createHash("sha256").update(Buffer.from(body, "base64")).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

/** Compares fingerprints with or without the `SHA256:` prefix and padding. */
export function sameFingerprint(a: string | undefined, b: string | undefined): boolean {
  const bare = (v: string | undefined) => (v ?? "").replace(/^SHA256:/, "").replace(/=+$/, "");
  return bare(a) !== "" && bare(a) === bare(b);
}
