// Calls a policy the way the policy framework does: props behind its unknown-checking proxy,
// violations collected by a reportViolation spy. No CLI, no gRPC.
import {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
  unknownCheckingProxy,
} from "@pulumi/policy";

export interface FakeResource {
  type: string;
  name?: string;
  props: Record<string, any>;
  urn?: string;
}

/** Runs a policy on one resource; returns the violation messages. */
export async function checkPolicy(
  policy: ResourceValidationPolicy,
  resource: FakeResource,
): Promise<string[]> {
  const name = resource.name ?? "test-resource";
  const violations: string[] = [];
  const args = {
    type: resource.type,
    name,
    urn: resource.urn ?? `urn:pulumi:dev::tekton-gitlab::${resource.type}::${name}`,
    props: unknownCheckingProxy(resource.props),
    opts: { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [] },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: () => ({}),
    notApplicable: () => {
      throw new Error("notApplicable is not expected from these policies");
    },
  } as unknown as ResourceValidationArgs;
  for (const validate of [policy.validateResource ?? []].flat()) {
    await validate(args, (message: string) => violations.push(message));
  }
  return violations;
}

/** Runs a stack policy on a set of resources; returns the violation messages. */
export async function checkStackPolicy(
  policy: StackValidationPolicy,
  resources: FakeResource[],
): Promise<string[]> {
  const violations: string[] = [];
  const args = {
    resources: resources.map((resource, index) => {
      const name = resource.name ?? `test-resource-${index}`;
      return {
        type: resource.type,
        name,
        urn: resource.urn ?? `urn:pulumi:dev::tekton-gitlab::${resource.type}::${name}`,
        props: unknownCheckingProxy(resource.props),
        opts: { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [] },
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
      } as unknown as PolicyResource;
    }),
    stackTags: new Map(),
    getConfig: () => ({}),
    notApplicable: () => {
      throw new Error("notApplicable is not expected from these policies");
    },
  } as unknown as StackValidationArgs;
  await policy.validateStack(args, (message: string) => violations.push(message));
  return violations;
}
