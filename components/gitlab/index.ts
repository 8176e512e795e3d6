// GitLab resources of this stack. Nothing outside this folder calls the GitLab API.
export { DeployKey } from "./deployKey";
export type { DeployKeyArgs } from "./deployKey";
export { ProjectHook } from "./projectHook";
export { ProjectAccessToken } from "./projectAccessToken";
export type { AccessLevelName, ProjectAccessTokenArgs } from "./projectAccessToken";
export type { ProjectHookArgs } from "./projectHook";
export { GITLAB_CONFIG_KEYS, GITLAB_ENV_VARS } from "./providerConfig";
export type { GitLabApiError, GitLabConfigError, GitLabNetworkError } from "./errors";
export { isGitLabApiError } from "./errors";
