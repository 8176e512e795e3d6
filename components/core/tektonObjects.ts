import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BuildManifest } from "../../tekton/core/types";

/**
 * An app's Tasks and Pipelines as custom resources named `<app>-<kind>-<name>`, children of
 * `parent`. Children do not inherit the component's dependsOn, and every one of them needs it:
 * Tekton's admission webhook rejects Tasks and Pipelines until it is ready, and the namespace
 * must exist.
 */
export function tektonObjects(
  parent: pulumi.ComponentResource,
  app: string,
  manifests: BuildManifest[],
  dependsOn: pulumi.ComponentResourceOptions["dependsOn"],
): k8s.apiextensions.CustomResource[] {
  return manifests.map(
    (manifest) =>
      new k8s.apiextensions.CustomResource(
        `${app}-${manifest.kind.toLowerCase()}-${manifest.metadata.name}`,
        {
          apiVersion: manifest.apiVersion,
          kind: manifest.kind,
          metadata: manifest.metadata,
          spec: manifest.spec,
        },
        { parent, dependsOn },
      ),
  );
}
