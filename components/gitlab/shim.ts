// The provider object `DeployKey` and `ProjectHook` hand to `pulumi.dynamic.Resource`: not the
// implementation, but a forwarder from the local package `@tekton-gitlab/gitlab-provider`
// (`./runtime/`) that loads `./provider.ts` at run time.
//
// Why: `pulumi.dynamic.Resource` serializes the provider object into the resource's
// `__provider` input, and the host copies it into the outputs (@pulumi/pulumi 3.276.0
// `dynamic/index.ts` `serializeProvider`; `cmd/dynamic-provider/index.ts`
// `resultIncludingProvider`). Serialized by value, our client and both providers took ~50 kB
// per resource, twice. And the host runs `read` and `delete` with the `__provider` of the
// state's outputs (`getProvider(props)` in its `read`/`delete`; `read` falls back to the inputs
// only when `properties` is empty, as in a `.get`, new after 3.259.0; a refresh sends the
// outputs as `properties`: `sdk/go/common/resource/plugin/provider_plugin.go` `Read`, `Delete`), so a
// fix never reached a resource until something updated it.
//
// The forwarder is the `exports` of a module under node_modules, which the closure serializer
// stores by name, `require("@tekton-gitlab/gitlab-provider/deploy-key.js")`
// (`runtime/closure/createClosure.ts` `findNormalizedModuleNameAsync`, `captureModuleAsync`:
// only a require.cache path with a `node_modules` segment; Node keys the cache by real path,
// so a symlinked package would be serialized by value: hence `install-links=true`).
import type * as dynamic from "@pulumi/pulumi/dynamic";

export type GitLabResourceKind = "DeployKey" | "ProjectHook" | "ProjectAccessToken";

const RUNTIME_PACKAGE = "@tekton-gitlab/gitlab-provider";

const MODULES: Record<GitLabResourceKind, string> = {
  DeployKey: `${RUNTIME_PACKAGE}/deploy-key.js`,
  ProjectHook: `${RUNTIME_PACKAGE}/project-hook.js`,
  ProjectAccessToken: `${RUNTIME_PACKAGE}/project-access-token.js`,
};

/** The provider `kind`'s resources hand to Pulumi (the same object for every resource). */
export function providerShim(kind: GitLabResourceKind): dynamic.ResourceProvider {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(MODULES[kind]) as dynamic.ResourceProvider;
  } catch (error) {
    throw new Error(
      `${MODULES[kind]} is missing from node_modules (${(error as Error).message}). It is ` +
        `this project's own package (components/gitlab/runtime): run \`npm ci\` in the project.`,
    );
  }
}
