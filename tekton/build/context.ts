// The build Tasks' view of the stack config: what they need besides the app itself, built once
// per stack (index.ts, tekton/render.ts) and passed to every builder of tekton/build, status and
// listener.
import {
  GitLabEndpoint,
  GitSshConfig,
  ImagesConfig,
  RegistryConfig,
  ValidatedConfig,
} from "../../config/schema";
import { dashboardBaseUrl } from "../cluster/dashboard";

/** What the Tasks need from the stack config besides the app itself. */
export interface BuildContext {
  gitSsh: GitSshConfig;
  registry: RegistryConfig;
  images: ImagesConfig;
  /** Base URL of the Tekton Dashboard (no trailing slash), for status links; unset: none. */
  dashboardUrl?: string;
  /** GitLab's API for the status tasks (tekton/status/statusTasks.ts); set when an app reports. */
  gitlab?: GitLabEndpoint;
}

export function buildContext(
  config: Pick<ValidatedConfig, "gitSsh" | "registry" | "images" | "gitlab"> &
    Partial<Pick<ValidatedConfig, "tekton">>,
): BuildContext {
  const ctx: BuildContext = {
    gitSsh: config.gitSsh,
    registry: config.registry,
    images: config.images,
  };
  if (config.gitlab !== undefined) ctx.gitlab = config.gitlab;
  // `tekton.dashboard.url`, else `https://<tekton.dashboard.ingress.host>` (tekton/cluster/dashboard.ts).
  const dashboardUrl = config.tekton && dashboardBaseUrl(config.tekton);
  if (dashboardUrl !== undefined) ctx.dashboardUrl = dashboardUrl;
  return ctx;
}
