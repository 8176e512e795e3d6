import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TektonConfig } from "../config/schema";

/** The three release manifests, in the order they must be applied. */
export function tektonReleaseUrls(config: TektonConfig) {
  const base = config.releaseBaseUrl;
  return {
    pipelines: `${base}/pipeline/previous/${config.pipelinesVersion}/release.yaml`,
    triggers: `${base}/triggers/previous/${config.triggersVersion}/release.yaml`,
    // Needs the ClusterInterceptor CRD from the Triggers release: without it the GitLab
    // interceptor is missing and every delivery fails with `clusterinterceptors "gitlab" not found`.
    interceptors: `${base}/triggers/previous/${config.triggersVersion}/interceptors.yaml`,
  };
}

const CRD_TYPE = /^kubernetes:apiextensions\.k8s\.io\/[^:]+:CustomResourceDefinition$/;

/**
 * Keeps Tekton's CustomResourceDefinitions in the cluster when Pulumi deletes them: deleting a
 * CRD deletes every object of its kind, so `install: false`, a destroy, or an upgrade whose
 * release file drops a CRD would otherwise take every Task, Pipeline and PipelineRun of the
 * cluster with it (and not only this stack's). With retainOnDelete Pulumi only forgets the CRD.
 *
 * Set as a `transforms` resource option on each ConfigFile: yaml/v2 ConfigFile is a remote
 * component (pulumi-kubernetes registers its children from the provider), and the engine runs a
 * parent's transforms on every child it registers (pulumi v3.248.0
 * pkg/resource/deploy/source_eval.go, `RegisterResource`: "collect parent transforms").
 */
export const retainCustomResourceDefinitions: pulumi.ResourceTransform = (args) =>
  CRD_TYPE.test(args.type)
    ? { props: args.props, opts: { ...args.opts, retainOnDelete: true } }
    : undefined;

/**
 * Installs pinned Tekton Pipelines, Triggers and the Triggers interceptors, or nothing when
 * `install: false` (the cluster already has Tekton).
 */
export class TektonInstall extends pulumi.ComponentResource {
  /**
   * What Tekton objects must `dependsOn`: Tekton's admission webhooks reject (or, while not yet
   * serving, fail) every Task, Pipeline and Trigger created before them. The Kubernetes
   * provider waits for the releases' Deployments to be ready, so depending on these waits for
   * the webhooks. Empty when nothing is installed.
   */
  public readonly ready: pulumi.Resource[];
  /** Installed versions, or undefined when `install: false`. */
  public readonly versions?: { pipelines: string; triggers: string };

  constructor(name: string, config: TektonConfig, opts?: pulumi.ComponentResourceOptions) {
    super("tekton-gitlab:tekton:TektonInstall", name, {}, opts);
    if (!config.install) {
      this.ready = [];
      this.registerOutputs({});
      return;
    }
    const urls = tektonReleaseUrls(config);
    const pipelines = new k8s.yaml.v2.ConfigFile(
      `${name}-pipelines`,
      { file: urls.pipelines },
      { parent: this, transforms: [retainCustomResourceDefinitions] },
    );
    const triggers = new k8s.yaml.v2.ConfigFile(
      `${name}-triggers`,
      { file: urls.triggers },
      { parent: this, dependsOn: [pipelines], transforms: [retainCustomResourceDefinitions] },
    );
    const interceptors = new k8s.yaml.v2.ConfigFile(
      `${name}-interceptors`,
      { file: urls.interceptors },
      { parent: this, dependsOn: [triggers], transforms: [retainCustomResourceDefinitions] },
    );
    this.ready = [pipelines, triggers, interceptors];
    this.versions = { pipelines: config.pipelinesVersion, triggers: config.triggersVersion };
    this.registerOutputs({ versions: this.versions });
  }
}
