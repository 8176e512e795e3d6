// Component type tokens follow `tekton-gitlab:<feature folder>:<Class>` (cluster, listener, app).
// Some components had a `tekton-gitlab:tekton:` token before the layout by feature; a component
// renamed so carries its old type as an alias, and a stack deployed with the old name sees no
// replacement: the engine looks the component up by the alias, and each child by the parent's
// old URN (pulumi pkg/resource/deploy/step_generator.go `generateAliases`,
// `inheritedChildAlias`), so nothing below a renamed component needs an alias of its own.
// tests/contract/registrations.test.ts replays that lookup against URNs frozen before the rename.
import * as pulumi from "@pulumi/pulumi";

/** `opts` plus an alias to the type token the component was registered with before. */
export function withPreviousType(
  previousType: string,
  opts: pulumi.ComponentResourceOptions | undefined,
): pulumi.ComponentResourceOptions {
  return { ...opts, aliases: [...(opts?.aliases ?? []), { type: previousType }] };
}
