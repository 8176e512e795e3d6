import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppConfig } from "../../config/schema";
import {
  cancelRole,
  cancelRoleBinding,
  cancelServiceAccount,
} from "../../tekton/cancel/cancelTask";
import { childOptions } from "../core/childOptions";
import { withPreviousType } from "../core/typeAliases";

export interface SupersededRunsArgs {
  /** The app whose build namespace gets the cancel task's identity (cancelSuperseded on). */
  app: AppConfig;
}

/** Type token: `tekton-gitlab:<feature folder>:<Class>` (components/core/typeAliases.ts). */
const TYPE = "tekton-gitlab:app:SupersededRuns";

/**
 * The identity of an app's `cancel-superseded` task (tekton/cancel/cancelTask.ts), in its build
 * namespace: ServiceAccount `tekton-cancel`, a Role allowing get, list and patch of PipelineRuns
 * there and nothing else, and the RoleBinding. The PipelineRun gives this account to the cancel
 * task alone (`taskRunSpecs`); every other task keeps `tekton-build`, which mounts no token.
 *
 * Pass `dependsOn` the app's namespace; children inherit it.
 */
export class SupersededRuns extends pulumi.ComponentResource {
  /** What a PipelineRun naming the account must wait for. */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: SupersededRunsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPE, name, {}, withPreviousType("tekton-gitlab:tekton:SupersededRuns", opts));
    const { app } = args;
    const after = childOptions(this, opts);
    const account = cancelServiceAccount(app);
    const role = cancelRole(app);
    const binding = cancelRoleBinding(app);

    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${app.name}-cancel-service-account`,
      {
        metadata: account.metadata,
        automountServiceAccountToken: account.automountServiceAccountToken,
      },
      after(),
    );
    const roleResource = new k8s.rbac.v1.Role(
      `${app.name}-cancel-role`,
      { metadata: role.metadata, rules: role.rules },
      after(),
    );
    const roleBinding = new k8s.rbac.v1.RoleBinding(
      `${app.name}-cancel-rolebinding`,
      { metadata: binding.metadata, roleRef: binding.roleRef, subjects: binding.subjects },
      after(roleResource, serviceAccount),
    );
    this.ready = [serviceAccount, roleBinding];
    this.registerOutputs({});
  }
}
