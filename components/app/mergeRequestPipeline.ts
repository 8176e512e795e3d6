import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppConfig } from "../../config/schema";
import { BuildContext } from "../../tekton/build/context";
import { BuildManifest } from "../../tekton/core/types";
import { mergeRequestPipeline, mergeRequestTasks } from "../../tekton/mergeRequest/pipeline";
import {
  statusReaderRole,
  statusReaderRoleBinding,
  statusReaderServiceAccount,
} from "../../tekton/mergeRequest/rbac";
import { childOptions } from "../core/childOptions";
import { tektonObjects } from "../core/tektonObjects";

export interface MergeRequestPipelineArgs {
  /** The app with `mergeRequests.build` on. */
  app: AppConfig;
  context: BuildContext;
}

/**
 * An app's merge request build (tekton/mergeRequest): the Tasks `fetch-merge-request`,
 * `build-merge-request` and, with status reporting, `report-merge-request-status` with the
 * identity that reads the run's TaskRuns (ServiceAccount, Role, RoleBinding
 * `tekton-status-reader`), and the Pipeline `build-<app>-merge-request`. It shares
 * `cancel-superseded` with the push build (components/app/buildPipeline.ts).
 *
 * Pass `dependsOn` what the push build's objects wait for (Tekton, the namespace, the Secrets).
 */
export class MergeRequestPipeline extends pulumi.ComponentResource {
  /** What a merge request run must wait for: the status reader's account and binding. */
  public readonly ready: pulumi.Resource[];
  public readonly pipelineName: string;

  constructor(
    name: string,
    args: MergeRequestPipelineArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("tekton-gitlab:app:MergeRequestPipeline", name, {}, opts);
    const { app, context } = args;
    const after = childOptions(this, opts);
    const pipeline = mergeRequestPipeline(app, context);
    const manifests: BuildManifest[] = [...mergeRequestTasks(app, context), pipeline];
    tektonObjects(this, app.name, manifests, opts?.dependsOn);
    this.ready = [];
    if (app.statusReporting.enabled) {
      const account = statusReaderServiceAccount(app);
      const role = statusReaderRole(app);
      const binding = statusReaderRoleBinding(app);
      const serviceAccount = new k8s.core.v1.ServiceAccount(
        `${app.name}-status-reader-service-account`,
        {
          metadata: account.metadata,
          automountServiceAccountToken: account.automountServiceAccountToken,
        },
        after(),
      );
      const roleResource = new k8s.rbac.v1.Role(
        `${app.name}-status-reader-role`,
        { metadata: role.metadata, rules: role.rules },
        after(),
      );
      const roleBinding = new k8s.rbac.v1.RoleBinding(
        `${app.name}-status-reader-rolebinding`,
        { metadata: binding.metadata, roleRef: binding.roleRef, subjects: binding.subjects },
        after(roleResource, serviceAccount),
      );
      this.ready.push(serviceAccount, roleBinding);
    }
    this.pipelineName = pipeline.metadata.name;
    this.registerOutputs({ pipelineName: this.pipelineName });
  }
}
