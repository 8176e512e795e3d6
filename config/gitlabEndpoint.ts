// Where the build's status steps reach GitLab: the same keys the stack's GitLab provider reads
// (components/gitlab/providerConfig.ts `resolveGitLabSettings`), parsed by the same functions
// (gitlabConnection.ts): `gitlab:baseUrl` (else env GITLAB_BASE_URL), `gitlab:cacertFile`,
// `gitlab:insecure`. The provider resolves them in its own process at run time; the status steps
// need them at program time, to put the API URL into the Pipeline and the CA into a ConfigMap.
// Only read when an app reports statuses.
import {
  GITLAB_CONFIG_KEYS,
  GITLAB_ENV_VARS,
  parseBaseUrl,
  readCaCertFile,
} from "./gitlabConnection";
import { GitLabEndpoint } from "./schema";

export interface EndpointResolution {
  endpoint?: GitLabEndpoint;
  /** Config problems, each naming its key. */
  problems: string[];
}

/**
 * `statusApps`: the config keys (`tekton-gitlab:apps[i]`) of the apps with status reporting on.
 * `baseUrlReported`: the base URL's absence was already reported (an app manages deploy keys).
 */
export function resolveGitLabEndpoint(
  raw: Record<string, string>,
  env: NodeJS.ProcessEnv,
  statusApps: string[],
  baseUrlReported: boolean,
  readFile?: (file: string) => string,
): EndpointResolution {
  if (statusApps.length === 0) return { problems: [] };
  const problems: string[] = [];
  const {
    baseUrl: baseUrlKey,
    cacertFile: cacertFileKey,
    insecure: insecureKey,
  } = GITLAB_CONFIG_KEYS;
  const fromConfig = raw[baseUrlKey]?.trim() || undefined;
  const baseUrl = fromConfig ?? (env[GITLAB_ENV_VARS.baseUrl]?.trim() || undefined);
  const key =
    fromConfig === undefined ? `${baseUrlKey} (from env ${GITLAB_ENV_VARS.baseUrl})` : baseUrlKey;
  let apiUrl: string | undefined;
  if (baseUrl === undefined) {
    if (!baseUrlReported) {
      problems.push(
        `${baseUrlKey}: required (or env ${GITLAB_ENV_VARS.baseUrl}) for the build status in GitLab of ${statusApps.join(", ")}: the status steps post to its API; or set statusReporting: false on those apps`,
      );
    }
  } else {
    const parsed = parseBaseUrl(baseUrl, key);
    if ("apiUrl" in parsed) apiUrl = parsed.apiUrl;
    // crossChecks already says so when an app manages deploy keys.
    else if (!baseUrlReported) problems.push(parsed.problem);
  }

  let caCert: string | undefined;
  const cacertFile = raw[cacertFileKey]?.trim() || undefined;
  if (cacertFile !== undefined) {
    const ca = readCaCertFile(cacertFile, readFile);
    if ("problem" in ca) problems.push(ca.problem);
    else caCert = ca.text;
  }

  const insecureText = raw[insecureKey]?.trim().toLowerCase() || undefined;
  if (insecureText !== undefined && insecureText !== "true" && insecureText !== "false") {
    problems.push(`${insecureKey}: expected true or false; got "${insecureText}"`);
  }
  if (apiUrl === undefined || problems.length > 0) return { problems };
  const endpoint: GitLabEndpoint = { apiUrl, insecure: insecureText === "true" };
  if (caCert !== undefined) endpoint.caCert = caCert;
  return { endpoint, problems };
}
