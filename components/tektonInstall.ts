import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TektonConfig } from "../config/schema";
import {
  GATE_CREATE_TIMEOUT,
  gateManifests,
  readinessGateManifests,
} from "../tekton/readinessGate";
import { ChainsInstall } from "./chainsInstall";
import { DashboardInstall, installDashboard } from "./dashboardInstall";
import { PrunerInstall, installPruner } from "./prunerInstall";

/**
 * Registers a readiness gate (tekton/readinessGate.ts `gateManifests`) after `releases`: its
 * ServiceAccount, Role, RoleBinding and the Job everything behind the gate depends on.
 */
export function deployGate(
  name: string,
  gate: ReturnType<typeof gateManifests>,
  parent: pulumi.Resource,
  releases: pulumi.Resource[],
): k8s.batch.v1.Job {
  const afterReleases = { parent, dependsOn: releases };
  const serviceAccount = new k8s.core.v1.ServiceAccount(
    `${name}-serviceaccount`,
    { metadata: gate.serviceAccount.metadata },
    afterReleases,
  );
  const role = new k8s.rbac.v1.Role(
    `${name}-role`,
    { metadata: gate.role.metadata, rules: gate.role.rules },
    afterReleases,
  );
  const roleBinding = new k8s.rbac.v1.RoleBinding(
    `${name}-rolebinding`,
    {
      metadata: gate.roleBinding.metadata,
      roleRef: gate.roleBinding.roleRef,
      subjects: gate.roleBinding.subjects,
    },
    { parent, dependsOn: [...releases, role, serviceAccount] },
  );
  return new k8s.batch.v1.Job(
    name,
    { metadata: gate.job.metadata, spec: gate.job.spec },
    {
      parent,
      dependsOn: [...releases, serviceAccount, role, roleBinding],
      // The Job's name is fixed: a replacement (upgrade, or a gate that failed) must delete
      // the old Job first.
      deleteBeforeReplace: true,
      customTimeouts: { create: GATE_CREATE_TIMEOUT, update: GATE_CREATE_TIMEOUT },
    },
  );
}

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
 * component (pulumi-kubernetes registers it again, and its children, from the provider's
 * Construct). The engine keeps the program's transforms for that re-registration
 * (`pendingTransforms`) and runs a parent's transforms on every child it registers (pulumi
 * v3.248.0 pkg/resource/deploy/source_eval.go, `RegisterResource`: "collect parent transforms").
 * The old `transformations` option would not reach them: it runs in this process only.
 */
export const retainCustomResourceDefinitions: pulumi.ResourceTransform = (args) =>
  CRD_TYPE.test(args.type)
    ? { props: args.props, opts: { ...args.opts, retainOnDelete: true } }
    : undefined;

export interface TektonInstallArgs {
  tekton: TektonConfig;
  /** The stack's pinned kubectl image (tekton-gitlab:images.kubectl), for the readiness gate. */
  kubectlImage: string;
}

/**
 * Installs pinned Tekton Pipelines, Triggers and the Triggers interceptors, or nothing when
 * `install: false` (the cluster already has Tekton).
 */
export class TektonInstall extends pulumi.ComponentResource {
  /**
   * What Tekton objects must `dependsOn`: the releases and the readiness gate (a Job that
   * completes once Tekton's admission webhooks admit a server-side dry-run of a Task and an
   * EventListener; tekton/readinessGate.ts). Empty when nothing is installed.
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
    super("tekton-gitlab:tekton:TektonInstall", name, {}, opts);
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
        { tekton: config, pipelines },
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
