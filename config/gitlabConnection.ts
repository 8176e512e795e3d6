// How a GitLab connection is written in the stack config: the `gitlab:*` keys, the base URL's
// accepted forms and the CA file's contents. The program's config check (gitlabEndpoint.ts) and
// the GitLab dynamic providers (components/gitlab/client.ts, providerConfig.ts) read the same
// keys the same way. The providers load this file inside Pulumi's dynamic provider process (and
// the soak serializes it with them by value), so it imports nothing but Node built-ins, and it
// returns problems instead of throwing: each caller raises them as its own kind of error.
import * as fs from "node:fs";

/**
 * @pulumi/gitlab's keys. `cacertFile` and `insecure` have no environment variable there:
 * terraform-provider-gitlab's provider schema (internal/provider/provider.go, `Provider()`)
 * gives only `token` (GITLAB_TOKEN) and `base_url` (GITLAB_BASE_URL) an EnvDefaultFunc, so
 * neither does this provider.
 */
export const GITLAB_CONFIG_KEYS = {
  baseUrl: "gitlab:baseUrl",
  token: "gitlab:token",
  cacertFile: "gitlab:cacertFile",
  insecure: "gitlab:insecure",
} as const;
export const GITLAB_ENV_VARS = { baseUrl: "GITLAB_BASE_URL", token: "GITLAB_TOKEN" } as const;

/**
 * `https://gitlab.example.com`, `.../`, `.../api/v4` and `.../api/v4/` (also below a path, for
 * instances served from a sub-directory) all become `https://gitlab.example.com/api/v4`; `key`
 * names the setting in the problem.
 */
export function parseBaseUrl(raw: string, key: string): { apiUrl: string } | { problem: string } {
  const trimmed = raw.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return {
      problem: `${key} must be the GitLab instance URL, e.g. https://gitlab.example.com; got "${trimmed}".`,
    };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { problem: `${key} must be an http(s) URL; got "${url.protocol}" scheme.` };
  }
  if (url.username || url.password) {
    // Credentials in the URL would end up in state and logs; the token has its own secret key.
    return {
      problem: `${key} must not contain credentials; put the token in gitlab:token (a secret).`,
    };
  }
  if (url.search || url.hash) {
    return { problem: `${key} must not have a query or fragment; got "${trimmed}".` };
  }
  const path = url.pathname
    .replace(/\/{2,}/g, "/")
    .replace(/\/+$/, "")
    .replace(/\/api\/v4$/, "");
  return { apiUrl: `${url.origin}${path}/api/v4` };
}

/**
 * Reads `gitlab:cacertFile`: its PEM text, or the problem naming the key, the path and what it
 * needs. The provider trusts this CA; the status steps get it in a ConfigMap.
 */
export function readCaCertFile(
  file: string,
  read: (file: string) => string = (path) => fs.readFileSync(path, "utf8"),
): { text: string } | { problem: string } {
  let text: string;
  try {
    text = read(file);
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    return {
      problem: `${GITLAB_CONFIG_KEYS.cacertFile}: cannot read "${file}" (${code}); expected the path of a PEM file holding the CA that signed GitLab's certificate`,
    };
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    return {
      problem: `${GITLAB_CONFIG_KEYS.cacertFile}: "${file}" holds no PEM certificate (-----BEGIN CERTIFICATE-----); expected the CA that signed GitLab's certificate`,
    };
  }
  return { text };
}
