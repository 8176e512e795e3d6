import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RegistryConfig, TektonConfig } from "../../config/schema";
import { readinessGateManifests } from "../../tekton/cluster/readinessGate";
import { ChainsInstall } from "./chainsInstall";
import { deployGate } from "./deployGate";
import { retainCustomResourceDefinitions } from "./retainCrds";
import { DashboardInstall, installDashboard } from "./dashboardInstall";
import { PrunerInstall, installPruner } from "./prunerInstall";
import { withPreviousType } from "../core/typeAliases";

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

export interface TektonInstallArgs {
  tekton: TektonConfig;
  /** The stack's pinned kubectl image (tekton-gitlab:images.kubectl), for the readiness gate. */
  kubectlImage: string;
  /** The build's registry: Chains, when installed, pushes signatures there too. */
  registry: RegistryConfig;
}

/** Type token: `tekton-gitlab:<feature folder>:<Class>` (components/core/typeAliases.ts). */
const TYPE = "tekton-gitlab:cluster:TektonInstall";

/**
 * Installs pinned Tekton Pipelines, Triggers and the Triggers interceptors, or nothing when
 * `install: false` (the cluster already has Tekton).
 */
export class TektonInstall extends pulumi.ComponentResource {
  /**
   * What Tekton objects must `dependsOn`: the releases and the readiness gate (a Job that
   * completes once Tekton's admission webhooks admit a server-side dry-run of a Task and an
   * EventListener; tekton/cluster/readinessGate.ts). Empty when nothing is installed.
   */
  public readonly ready: pulumi.Resource[];
  /** Installed versions, or undefined when `install: false`. */
  public readonly versions?: { pipelines: string; triggers: string };
  /** Tekton Chains, when `tekton.chains.install` is true. */
  public readonly chains?: ChainsInstall;
  /** Tekton Pruner, unless `tekton.pruner.install` is false. */
  public readonly pruner?: PrunerInstall;
  /** Tekton Dashboard, when `tekton.dashboard.install` is true. */
  public readonly dashboard?: DashboardInstall;
  /**
   * What a build namespace's pruner ConfigMap must wait for: the pruner release and its
   * readiness gate (its webhook admits the ConfigMap). Empty when the stack installs no pruner.
   */
  public readonly prunerReady: pulumi.Resource[] = [];

  constructor(name: string, args: TektonInstallArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPE, name, {}, withPreviousType("tekton-gitlab:tekton:TektonInstall", opts));
    const config = args.tekton;
    if (!config.install) {
      // The cluster's Tekton is assumed to be serving: no gate (README, "Tekton install").
      this.ready = [];
      this.registerOutputs({});
      return;
    }
    const urls = tektonReleaseUrls(config);
    const transforms = [retainCustomResourceDefinitions];
    const pipelines = new k8s.yaml.v2.ConfigFile(
      `${name}-pipelines`,
      { file: urls.pipelines },
      { parent: this, transforms },
    );
    const triggers = new k8s.yaml.v2.ConfigFile(
      `${name}-triggers`,
      { file: urls.triggers },
      { parent: this, dependsOn: [pipelines], transforms },
    );
    this.versions = { pipelines: config.pipelinesVersion, triggers: config.triggersVersion };

    const job = deployGate(
      `${name}-webhooks-ready`,
      readinessGateManifests({ image: args.kubectlImage, versions: this.versions }),
      this,
      [pipelines, triggers],
    );

    // Its ClusterInterceptors are admitted by Triggers' webhook: after the gate.
    const interceptors = new k8s.yaml.v2.ConfigFile(
      `${name}-interceptors`,
      { file: urls.interceptors },
      { parent: this, dependsOn: [job], transforms },
    );
    this.ready = [pipelines, triggers, job, interceptors];
    if (config.chains.install) {
      this.chains = new ChainsInstall(
        `${name}-chains`,
        { tekton: config, pipelines, registry: args.registry },
        { parent: this },
      );
      this.ready.push(...this.chains.ready);
    }
    // Not in `ready`: no Tekton object of an app needs the pruner or the dashboard.
    if (config.pruner.install) {
      this.pruner = installPruner(
        `${name}-pruner`,
        { tekton: config, pipelines, kubectlImage: args.kubectlImage },
        this,
      );
      this.prunerReady = this.pruner.ready;
    }
    if (config.dashboard.install) {
      this.dashboard = installDashboard(`${name}-dashboard`, { tekton: config, pipelines }, this);
    }
    this.registerOutputs({ versions: this.versions });
  }
}
