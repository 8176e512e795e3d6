import * as pulumi from "@pulumi/pulumi";

/**
 * Options for a component's children that wait for the component's own `dependsOn` plus
 * `resources`. Children wait for their parent, but only an explicit dependsOn is recorded in
 * the state (and so orders deletes too): the caller's dependencies are handed down.
 */
export function childOptions(
  parent: pulumi.ComponentResource,
  opts: pulumi.ComponentResourceOptions | undefined,
): (...resources: pulumi.Resource[]) => pulumi.CustomResourceOptions {
  const inherited = opts?.dependsOn;
  return (...resources) => ({
    parent,
    dependsOn:
      inherited === undefined
        ? resources
        : // The SDK flattens nested arrays, Promises and Outputs in dependsOn.
          [inherited as pulumi.Input<pulumi.Resource>, ...resources],
  });
}
