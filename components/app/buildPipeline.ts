import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppConfig } from "../../config/schema";
import {
  appLabels,
  GITLAB_CA_CONFIGMAP,
  GITLAB_CA_KEY,
  pipelineName,
} from "../../tekton/core/names";
import { buildPipeline } from "../../tekton/build/pipeline";
import { BuildContext } from "../../tekton/build/context";
import { buildTasks } from "../../tekton/build/tasks";
import { BuildManifest } from "../../tekton/core/types";
import { tektonObjects } from "../core/tektonObjects";
import { withPreviousType } from "../core/typeAliases";

export interface BuildPipelineArgs {
  /** The app whose Tasks and Pipeline are created, in its namespace. */
  app: AppConfig;
  /** Registry, Git SSH host and images from the stack config. */
  context: BuildContext;
}

/** Type token: `tekton-gitlab:<feature folder>:<Class>` (components/core/typeAliases.ts). */
const TYPE = "tekton-gitlab:app:BuildPipeline";

/**
 * An app's build pipeline: the Tasks `generate-image-tag`, `build-and-push`,
 * `patch-deployment`, `cancel-superseded` (unless `cancelSuperseded: false`), `report-build-status`
 * with its ConfigMap `gitlab-ca` (when the app reports its status to GitLab) and the Pipeline
 * `build-<app>`, as Kubernetes custom resources.
 */
export class BuildPipeline extends pulumi.ComponentResource {
  /** Name of the Pipeline, for the PipelineRuns that start it. */
  public readonly pipelineName: string;

  constructor(name: string, args: BuildPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPE, name, {}, withPreviousType("tekton-gitlab:tekton:BuildPipeline", opts));
    const { app, context } = args;
    const manifests: BuildManifest[] = [...buildTasks(app, context), buildPipeline(app, context)];
    tektonObjects(this, app.name, manifests, opts?.dependsOn);
    // GitLab's CA (gitlab:cacertFile) for the status tasks, the only steps that call GitLab.
    if (app.statusReporting.enabled && context.gitlab?.caCert !== undefined) {
      new k8s.core.v1.ConfigMap(
        `${app.name}-gitlab-ca`,
        {
          metadata: { name: GITLAB_CA_CONFIGMAP, namespace: app.namespace, labels: appLabels(app) },
          data: { [GITLAB_CA_KEY]: context.gitlab.caCert },
        },
        { parent: this, dependsOn: opts?.dependsOn },
      );
    }
    this.pipelineName = pipelineName(app);
    this.registerOutputs({ pipelineName: this.pipelineName });
  }
}
