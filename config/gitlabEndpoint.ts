// Where the build's status steps reach GitLab: the same keys the stack's GitLab
// provider reads (components/gitlab/providerConfig.ts `resolveGitLabSettings`): `gitlab:baseUrl`
// (else env GITLAB_BASE_URL), `gitlab:cacertFile`, `gitlab:insecure`. The provider resolves them
// in its own process at run time; the status steps need them at program time, to put the API URL
// into the Pipeline and the CA into a ConfigMap. Only read when an app reports statuses.
import * as fs from "node:fs";
import { normalizeBaseUrl } from "../components/gitlab/client";
import { GitLabEndpoint } from "./schema";

export interface EndpointResolution {
  endpoint?: GitLabEndpoint;
  /** Config problems, each naming its key. */
  problems: string[];
}

type ReadFile = (file: string) => string;

const readUtf8: ReadFile = (file) => fs.readFileSync(file, "utf8");

/**
 * `statusApps`: the config keys (`tekton-gitlab:apps[i]`) of the apps with status reporting on.
 * `baseUrlReported`: the base URL's absence was already reported (an app manages deploy keys).
 */
export function resolveGitLabEndpoint(
  raw: Record<string, string>,
  env: NodeJS.ProcessEnv,
  statusApps: string[],
  baseUrlReported: boolean,
  readFile: ReadFile = readUtf8,
): EndpointResolution {
  if (statusApps.length === 0) return { problems: [] };
  const problems: string[] = [];
  const fromConfig = raw["gitlab:baseUrl"]?.trim() || undefined;
  const baseUrl = fromConfig ?? (env.GITLAB_BASE_URL?.trim() || undefined);
  const key =
    fromConfig === undefined ? "gitlab:baseUrl (from env GITLAB_BASE_URL)" : "gitlab:baseUrl";
  let apiUrl: string | undefined;
  if (baseUrl === undefined) {
    if (!baseUrlReported) {
      problems.push(
        `gitlab:baseUrl: required (or env GITLAB_BASE_URL) for the build status in GitLab of ${statusApps.join(", ")}: the status steps post to its API; or set statusReporting: false on those apps`,
      );
    }
  } else {
    try {
      apiUrl = normalizeBaseUrl(baseUrl, key);
    } catch (error) {
      // crossChecks already says so when an app manages deploy keys.
      if (!baseUrlReported) problems.push((error as Error).message);
    }
  }

  let caCert: string | undefined;
  const cacertFile = raw["gitlab:cacertFile"]?.trim() || undefined;
  if (cacertFile !== undefined) {
    try {
      caCert = readFile(cacertFile);
      if (!caCert.includes("-----BEGIN CERTIFICATE-----")) {
        problems.push(
          `gitlab:cacertFile: "${cacertFile}" holds no PEM certificate (-----BEGIN CERTIFICATE-----); expected the CA that signed GitLab's certificate`,
        );
      }
    } catch (error) {
      const code = (error as { code?: string }).code ?? String(error);
      problems.push(
        `gitlab:cacertFile: cannot read "${cacertFile}" (${code}); expected the path of a PEM file holding the CA that signed GitLab's certificate`,
      );
    }
  }

  const insecureText = raw["gitlab:insecure"]?.trim().toLowerCase() || undefined;
  if (insecureText !== undefined && insecureText !== "true" && insecureText !== "false") {
    problems.push(`gitlab:insecure: expected true or false; got "${insecureText}"`);
  }
  if (apiUrl === undefined || problems.length > 0) return { problems };
  const endpoint: GitLabEndpoint = { apiUrl, insecure: insecureText === "true" };
  if (caCert !== undefined) endpoint.caCert = caCert;
  return { endpoint, problems };
}
