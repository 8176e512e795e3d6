import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TektonConfig } from "../../config/schema";
import {
  PRUNER_GLOBAL_CONFIG,
  PRUNER_GLOBAL_CONFIG_KEY,
  PRUNER_CONFIG_TYPE_LABEL,
  PRUNER_GLOBAL_CONFIG_MAP,
  PRUNER_NAMESPACE,
  prunerReleaseUrl,
} from "../../tekton/cluster/pruner";
import { prunerGateManifests } from "../../tekton/cluster/prunerGate";
import { deployGate } from "./deployGate";
import { retainCustomResourceDefinitions } from "./retainCrds";

/**
 * Rewrites the release's global pruner ConfigMap so namespace configs are honoured
 * (tekton/cluster/pruner.ts PRUNER_GLOBAL_CONFIG). A transform on the release ConfigFile, not a
 * ConfigMapPatch: the release itself sets `global-config`, so a patch would be a second field
 * manager of the same key, and every re-apply of the release (an upgrade) would put the
 * release's `enforcedConfigLevel: global` back. This way the object has one owner and one
 * value. Like retainCustomResourceDefinitions it runs on the children pulumi-kubernetes
 * registers for the remote ConfigFile (see there).
 */
export const honourNamespacePrunerConfig: pulumi.ResourceTransform = (args) => {
  if (args.type !== "kubernetes:core/v1:ConfigMap") return undefined;
  const metadata = args.props.metadata ?? {};
  if (metadata.name !== PRUNER_GLOBAL_CONFIG_MAP || metadata.namespace !== PRUNER_NAMESPACE) {
    return undefined;
  }
  // Without its config-type label the release's own webhook no longer selects this object. That
  // webhook (config/601-webhook-configuration.yaml, failurePolicy Fail) is registered with no
  // caBundle, which the webhook writes only once it runs (pkg/webhook/configmapvalidation.go
  // `Reconcile`); yaml/v2 applies the release's objects in parallel, so on a fresh cluster it
  // would refuse this create whenever it lands first. Nothing reads the label: the controller
  // watches the ConfigMap by name (pkg/reconciler/tektonpruner/controller.go, knative
  // sharedmain's unfiltered informed watcher); the webhook's own checks are on our value above,
  // which tests/cluster/pruner.test.ts holds to PrunerConfig's keys.
  const labels = { ...metadata.labels };
  delete labels[PRUNER_CONFIG_TYPE_LABEL];
  return {
    props: {
      ...args.props,
      metadata: { ...metadata, labels },
      data: { ...args.props.data, [PRUNER_GLOBAL_CONFIG_KEY]: PRUNER_GLOBAL_CONFIG },
    },
    opts: args.opts,
  };
};

export interface PrunerInstallArgs {
  tekton: TektonConfig;
  /** The Tekton Pipelines release: the pruner watches its PipelineRuns, in its namespace. */
  pipelines: pulumi.Resource;
  /** The stack's pinned kubectl image (tekton-gitlab:images.kubectl), for the readiness gate. */
  kubectlImage: string;
}

export interface PrunerInstall {
  version: string;
  /**
   * What a namespace-level pruner ConfigMap must wait for: the release and the gate Job that
   * completes once the pruner's webhook answers (tekton/cluster/prunerGate.ts).
   */
  ready: pulumi.Resource[];
}

/**
 * Installs the pinned Tekton Pruner (controller, webhook, global config) and sets its global
 * config to honour each namespace's own. Registered directly under TektonInstall (`parent`), not
 * under a component of its own: the policy pack recognises release objects by TektonInstall's
 * type in their URN (policy/policies.ts `isTektonReleaseResource`), and the pruner's RBAC is the
 * release's, not the stack's.
 */
export function installPruner(
  name: string,
  args: PrunerInstallArgs,
  parent: pulumi.ComponentResource,
): PrunerInstall {
  const version = args.tekton.pruner.version;
  const release = new k8s.yaml.v2.ConfigFile(
    name,
    { file: prunerReleaseUrl(args.tekton.releaseBaseUrl, version) },
    {
      parent,
      dependsOn: [args.pipelines],
      // The release has no CRD today; kept for one that adds some (components/cluster/tektonInstall.ts).
      transforms: [retainCustomResourceDefinitions, honourNamespacePrunerConfig],
    },
  );

  const job = deployGate(
    `${name}-ready`,
    prunerGateManifests({ image: args.kubectlImage, prunerVersion: version }),
    parent,
    [release],
  );
  return { version, ready: [release, job] };
}
