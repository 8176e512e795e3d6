// The run-time entry of the GitLab dynamic providers: what the `__provider` shim in the state
// (`./shim.ts`) loads inside the dynamic provider host, on every `up`, `refresh` and `destroy`.
// Keep its export stable: states written since the shim exists call `provider(kind)`.
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { DeployKeyProvider } from "./deployKey";
import { ProjectAccessTokenProvider } from "./projectAccessToken";
import { ProjectHookProvider } from "./projectHook";
import type { GitLabProviderOptions } from "./providerConfig";
import type { GitLabResourceKind } from "./shim";

const PROVIDER_KEY = "__provider";

type Props = Record<string, unknown>;

/** The resource's properties without the host's `__provider` entry. */
function withoutProvider<T>(props: T): T {
  const rest: Props = { ...(props as Props) };
  delete rest[PROVIDER_KEY];
  return rest as T;
}

/**
 * The implementation, plus the one thing that moves existing resources onto the shim.
 *
 * The engine keeps a resource's old outputs when `diff` reports no change (pulumi v3.259.0
 * `pkg/resource/deploy/step.go` `SameStep.Apply`: `s.new.Outputs = s.old.Outputs`), and the
 * host runs `read` and `delete` with the outputs' `__provider`. So a resource created before the
 * shim would keep its 50 kB copy of the old code for good. `diff` therefore reports a change
 * when only `__provider` differs, and `update` then answers from the old outputs without
 * calling GitLab; the host stores the new `__provider` with them (`updateRPC`,
 * `resultIncludingProvider(result.outs, news)`). The shim text is the same in every release,
 * so this happens once per resource.
 */
export function migrating(impl: dynamic.ResourceProvider): dynamic.ResourceProvider {
  // Not named `diff`: the closure serializer would read the method's own name for it.
  const implDiff = async (id: string, olds: Props, news: Props): Promise<dynamic.DiffResult> =>
    impl.diff ? impl.diff(id, olds, news) : { changes: false };
  // Arrow functions, not `bind`: a bound function cannot be serialized by value (the soak
  // serializes this object as dynamic.Resource would); absent methods stay absent.
  return {
    configure: impl.configure && ((req) => impl.configure!(req)),
    check: impl.check && ((olds, news) => impl.check!(olds, news)),
    create: (inputs) => impl.create(inputs),
    read: impl.read && ((id, props) => impl.read!(id, props)),
    delete: impl.delete && ((id, props) => impl.delete!(id, props)),
    async diff(id: string, olds: Props, news: Props) {
      const result = await implDiff(id, olds, news);
      if (result.changes === false && olds[PROVIDER_KEY] !== news[PROVIDER_KEY]) {
        return { ...result, changes: true, replaces: [] };
      }
      return result;
    },
    async update(id: string, olds: Props, news: Props) {
      const result = await implDiff(id, olds, news);
      if (result.changes === false) return { outs: withoutProvider(olds) };
      return impl.update ? impl.update(id, olds, news) : { outs: withoutProvider(news) };
    },
  };
}

/**
 * The provider behind every `DeployKey` or `ProjectHook` of the stack. The forwarder calls it
 * with the kind only; `options` (a virtual clock, a log, an env) let the soak drive this very
 * object, `migrating` included, instead of a provider the engine never runs.
 */
export function provider(
  kind: GitLabResourceKind,
  options?: GitLabProviderOptions,
): dynamic.ResourceProvider {
  switch (kind) {
    case "DeployKey":
      return migrating(new DeployKeyProvider(options));
    case "ProjectHook":
      return migrating(new ProjectHookProvider(options));
    case "ProjectAccessToken":
      return migrating(new ProjectAccessTokenProvider(options));
    default:
      throw new Error(`No GitLab provider for ${JSON.stringify(kind)}.`);
  }
}
