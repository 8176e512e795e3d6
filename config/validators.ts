// Pure predicates for the config schema. Each returns an error text (what was expected) or
// undefined, so the schema can report every problem with the key it belongs to.
import { X509Certificate } from "node:crypto";

/** RFC 1123 label: namespaces, container names, Secret names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1035 label: Service names must start with a letter (the EventListener's `el-<name>`). */
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 host name (one or more labels). */
export const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** `vX.Y.Z`, the form Tekton release folders use. */
export const RELEASE_VERSION = /^v\d+\.\d+\.\d+$/;
/** GitLab namespace/project path: at least `group/project`, each segment as GitLab allows. */
export const PROJECT_PATH = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$/;
/** OCI distribution repository path (lower case components separated by `/`). */
export const IMAGE_REPOSITORY =
  /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
/** Kubernetes resource quantity for a storage request, e.g. `1Gi`, `500Mi`. */
export const STORAGE_QUANTITY = /^[1-9]\d*(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/;
/**
 * A Kubernetes resource quantity (k8s.io/apimachinery pkg/api/resource/quantity.go
 * `ParseQuantity`): a non-negative decimal number with a binary (Ki..Ei), decimal (n, u, m, k,
 * M..E) or exponent (e/E) suffix. The sign the parser allows is left out: no resource here may
 * be negative.
 */
const QUANTITY =
  /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|(n|u|m|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$/;
const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The value of a quantity in base units (bytes, cores); undefined when it is not one. */
export function quantityValue(text: string): number | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const [, number, binary, decimal, exponent] = match;
  const scale = binary
    ? BINARY[binary]
    : decimal
      ? DECIMAL[decimal]
      : exponent !== undefined
        ? 10 ** Number(exponent)
        : 1;
  return Number(number) * scale;
}

/** A CPU quantity: cores ("2", "1.5") or millicores ("500m"), above zero. */
export function cpuQuantityError(text: string): string | undefined {
  const value = quantityValue(text);
  return value !== undefined && value > 0
    ? undefined
    : "a Kubernetes quantity such as 500m or 2 (CPU cores)";
}

/** The smallest memory quantity accepted: below it, "512m" (half a byte) was meant as 512Mi. */
export const MIN_MEMORY = "64Mi";

/** A memory quantity in bytes ("4Gi", "512Mi", "2G"), at least MIN_MEMORY. */
export function memoryQuantityError(text: string): string | undefined {
  const value = quantityValue(text);
  if (value === undefined) return "a Kubernetes quantity such as 4Gi or 512Mi (bytes)";
  if (value < quantityValue(MIN_MEMORY)!) {
    return `at least ${MIN_MEMORY}, got ${text} bytes (an "m" suffix means thousandths: 512m is half a byte; write 512Mi)`;
  }
  return undefined;
}

/** Go duration as Tekton's `timeouts.pipeline` accepts it, e.g. `1h`, `30m`, `1h30m`. */
export const GO_DURATION = /^(\d+h)?(\d+m)?(\d+s)?$/;

/** `host` or `host:port` as a registry is addressed in an image reference. */
export function registryHostError(value: string): string | undefined {
  const match = /^([^:]+)(?::(\d+))?$/.exec(value);
  if (!match || !HOSTNAME.test(match[1])) {
    return "a registry host name, optionally with :port, without scheme or path";
  }
  if (match[2] !== undefined && !validPort(Number(match[2]))) {
    return "a port between 1 and 65535";
  }
  return undefined;
}

export function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** The rules of `git check-ref-format --branch` for a branch name. */
export function branchNameError(name: string): string | undefined {
  const problems: [boolean, string][] = [
    [name.length === 0, "is empty"],
    [name.startsWith("-"), "starts with '-'"],
    [name.startsWith("refs/"), "starts with 'refs/' (give the short name, e.g. main)"],
    [name === "@", "is '@'"],
    [name.includes(".."), "contains '..'"],
    [name.includes("@{"), "contains '@{'"],
    [name.includes("//"), "contains '//'"],
    [
      // eslint-disable-next-line no-control-regex -- git forbids control characters in refs
      /[\x00-\x20\x7f~^:?*[\\]/.test(name),
      "contains a space, control character or one of ~^:?*[\\",
    ],
    // Git allows '"', but Tekton Triggers pastes params into the template's JSON unescaped.
    [name.includes('"'), "contains '\"' (Tekton Triggers cannot carry it)"],
    [name.startsWith("/") || name.endsWith("/"), "starts or ends with '/'"],
    [name.endsWith("."), "ends with '.'"],
    [
      name.split("/").some((part) => part.startsWith(".") || part.endsWith(".lock")),
      "has a component starting with '.' or ending in '.lock'",
    ],
  ];
  const found = problems.find(([bad]) => bad);
  return found ? `a valid git branch name; this one ${found[1]}` : undefined;
}

/** GitLab's longest retest comment we take: a short command, not a paragraph. */
export const RETEST_COMMENT_MAX_LENGTH = 100;

/**
 * `apps[].mergeRequests.retestComment`: compared with a comment's text (trimmed) in the Note
 * Trigger's CEL filter, so it must be something a comment can be once trimmed.
 */
export function retestCommentError(comment: string): string | undefined {
  if (comment.trim() === "") return "a non-empty comment such as /retest";
  if (/[\r\n]/.test(comment)) return "a comment on one line (no newline)";
  if (comment.length > RETEST_COMMENT_MAX_LENGTH) {
    return `a comment of at most ${RETEST_COMMENT_MAX_LENGTH} characters`;
  }
  // Both trims: the Note filter's (cel-go ext/strings.go `trimSpace`, Go strings.TrimSpace, which
  // also strips U+0085) and JavaScript's (which also strips U+FEFF). A value either would change
  // could never be equal to a trimmed comment, or only by accident of the other's rules.
  if (comment !== comment.trim() || comment !== goTrimSpace(comment)) {
    return "a comment without leading or trailing whitespace (a comment is compared trimmed)";
  }
  return undefined;
}

/** Go's unicode.IsSpace set: what strings.TrimSpace strips from either end. */
const GO_SPACE =
  "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const GO_TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, "gu");

function goTrimSpace(text: string): string {
  return text.replace(GO_TRIM, "");
}

/** A path inside a repository: relative, no `..`, no backslashes. */
export function repoPathError(path: string): string | undefined {
  if (path.length === 0) return "a non-empty path relative to the repository root";
  if (path.startsWith("/")) return "a path relative to the repository root, not an absolute path";
  if (path.split("/").includes("..")) return "a path inside the repository (no '..')";
  // eslint-disable-next-line no-control-regex -- control characters would break the step env
  if (/[\x00-\x1f\\]/.test(path)) return "a path without control characters or backslashes";
  return undefined;
}

const SSH_KEY_TYPES = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
]);

export interface KnownHostsEntry {
  /** Host patterns: names, `[host]:port`, `*`/`?` wildcards, `!negations`, or hashed `|1|...`. */
  hosts: string[];
  keyType: string;
  marker?: "@cert-authority" | "@revoked";
}

/**
 * Parses OpenSSH `known_hosts` text. Each entry is `[@marker] hosts keytype base64 [comment]`;
 * the base64 blob must decode to an SSH public key whose embedded type matches `keytype`, so a
 * truncated or pasted-wrong key is caught here and not as a host key failure in the first build.
 */
export function parseKnownHosts(text: string): { entries: KnownHostsEntry[]; errors: string[] } {
  const entries: KnownHostsEntry[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostsEntry["marker"];
    if (fields[0].startsWith("@")) {
      if (fields[0] !== "@cert-authority" && fields[0] !== "@revoked") {
        errors.push(`line ${index + 1}: unknown marker ${fields[0]}`);
        return;
      }
      marker = fields.shift() as KnownHostsEntry["marker"];
    }
    const [hosts, keyType, blob] = fields;
    if (!hosts || !keyType || !blob) {
      errors.push(`line ${index + 1}: expected "<hosts> <key type> <base64 key>"`);
      return;
    }
    if (!SSH_KEY_TYPES.has(keyType)) {
      errors.push(`line ${index + 1}: unsupported key type ${keyType}`);
      return;
    }
    if (embeddedKeyType(blob) !== keyType) {
      errors.push(`line ${index + 1}: the key is not valid base64 of a ${keyType} public key`);
      return;
    }
    entries.push({ hosts: hosts.split(","), keyType, ...(marker ? { marker } : {}) });
  });
  if (entries.length === 0 && errors.length === 0) errors.push("no host key entries");
  return { entries, errors };
}

/** SSH wire format: the key blob starts with a length-prefixed string naming its type. */
export function embeddedKeyType(blob: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return undefined;
  const bytes = Buffer.from(blob, "base64");
  if (bytes.length < 4) return undefined;
  const length = bytes.readUInt32BE(0);
  if (length === 0 || length > 64 || bytes.length < 4 + length) return undefined;
  return bytes.subarray(4, 4 + length).toString("latin1");
}

/** How `known_hosts` names a host: bare on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * True when a usable entry covers the host, matching patterns as ssh does: `*` and `?`
 * wildcards, and a matching `!pattern` excludes the entry. Revoked keys never count. Hashed
 * `|1|` names cannot be checked without the salt's hash: trust them.
 */
export function knownHostsCovers(entries: KnownHostsEntry[], host: string, port: number): boolean {
  const wanted = knownHostsName(host, port);
  const matches = (pattern: string) =>
    new RegExp(
      "^" +
        pattern
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, ".*")
          .replace(/\?/g, ".") +
        "$",
      "i",
    ).test(wanted);
  return entries.some(
    (entry) =>
      entry.marker !== "@revoked" &&
      !entry.hosts.some((name) => name.startsWith("!") && matches(name.slice(1))) &&
      entry.hosts.some(
        (name) => name.startsWith("|1|") || (!name.startsWith("!") && matches(name)),
      ),
  );
}

/** One or more PEM certificates, each parsed by Node's X.509 implementation. */
export function pemCertificatesError(pem: string): string | undefined {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (!blocks) return "a PEM certificate (-----BEGIN CERTIFICATE----- ...)";
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      return "PEM certificates that parse; one of the blocks is not a valid X.509 certificate";
    }
  }
  return undefined;
}

/**
 * A container image pinned by tag or digest. `latest` and an untagged name float: a rebuilt
 * image would silently change every pipeline run.
 */
export function pinnedImageError(image: string): string | undefined {
  if (/\s/.test(image) || image.length === 0) return "an image reference without spaces";
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return undefined;
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastSegment.lastIndexOf(":");
  if (colon < 0) return "an image pinned by tag or digest (name:tag or name@sha256:...)";
  const tag = lastSegment.slice(colon + 1);
  if (tag === "latest") return "a pinned tag or digest, not ':latest'";
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) return "a valid image tag";
  return undefined;
}

/** http(s) URL without trailing slash, or a local directory holding the same layout. */
export function releaseBaseError(value: string): string | undefined {
  if (/^https?:\/\//.test(value)) {
    try {
      new URL(value);
      return undefined;
    } catch {
      return "an http(s) URL or a local directory";
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return "an http(s) URL or a local directory";
  return value.length > 0 ? undefined : "an http(s) URL or a local directory";
}

/**
 * The Tekton Dashboard's base URL (`tekton.dashboard.url`): https only (the dashboard has no
 * authentication of its own and sits behind an authenticating proxy, whose session must not
 * travel in clear), no credentials, no query or fragment (status links append
 * `/#/namespaces/<ns>/pipelineruns/<name>`). A path prefix is allowed.
 */
export function dashboardUrlError(value: string): string | undefined {
  const expected = "an https URL such as https://tekton.example.com (no credentials, query or #)";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return expected;
  }
  if (url.protocol !== "https:") {
    return "an https URL: the dashboard is never linked or exposed without TLS";
  }
  if (url.username || url.password || url.search || url.hash || value.includes("#")) {
    return expected;
  }
  return undefined;
}
