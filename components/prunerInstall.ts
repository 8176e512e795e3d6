import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TektonConfig } from "../config/schema";
import {
  PRUNER_GLOBAL_CONFIG,
  PRUNER_GLOBAL_CONFIG_KEY,
  PRUNER_GLOBAL_CONFIG_MAP,
  PRUNER_NAMESPACE,
  prunerReleaseUrl,
} from "../tekton/pruner";
import { retainCustomResourceDefinitions } from "./tektonInstall";

/**
 * Rewrites the release's global pruner ConfigMap so namespace configs are honoured
 * (tekton/pruner.ts PRUNER_GLOBAL_CONFIG). A transform on the release ConfigFile, not a
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
  return {
    props: {
      ...args.props,
      data: { ...args.props.data, [PRUNER_GLOBAL_CONFIG_KEY]: PRUNER_GLOBAL_CONFIG },
    },
    opts: args.opts,
  };
};

export interface PrunerInstallArgs {
  tekton: TektonConfig;
  /** The Tekton Pipelines release: the pruner watches its PipelineRuns, in its namespace. */
  pipelines: pulumi.Resource;
}

/**
 * Installs the pinned Tekton Pruner (controller, webhook, global config) and sets its global
 * config to honour each namespace's own. A child of TektonInstall.
 */
export class PrunerInstall extends pulumi.ComponentResource {
  public readonly version: string;
  /** What a namespace-level pruner ConfigMap must wait for: the release with its webhook. */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: PrunerInstallArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tekton-gitlab:tekton:PrunerInstall", name, {}, opts);
    this.version = args.tekton.pruner.version;
    const release = new k8s.yaml.v2.ConfigFile(
      name,
      { file: prunerReleaseUrl(args.tekton.releaseBaseUrl, this.version) },
      {
        parent: this,
        dependsOn: [args.pipelines],
        // The release has no CRD today; kept for one that adds some (components/tektonInstall.ts).
        transforms: [retainCustomResourceDefinitions, honourNamespacePrunerConfig],
      },
    );
    this.ready = [release];
    this.registerOutputs({ version: this.version });
  }
}
