import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppConfig, RetentionConfig } from "../../config/schema";
import { appLabels } from "../../tekton/core/names";
import { namespacePrunerConfigMap } from "../../tekton/cluster/pruner";
import { childOptions } from "../core/childOptions";

export interface RetentionPolicyArgs {
  app: AppConfig;
  retention: RetentionConfig;
}

/**
 * The build namespace's Tekton Pruner config (ConfigMap `tekton-pruner-namespace-spec`, key
 * `ns-config`; tekton/cluster/pruner.ts): how many finished PipelineRuns the pruner keeps there. Each
 * PipelineRun owns its workspace PVC, so a pruned run takes its PVC with it (README,
 * "Retention"). The caller's dependsOn must hold the namespace and the pruner release with its
 * gate: the pruner's validating webhook (tektoncd/pruner v0.4.1
 * config/601-webhook-configuration.yaml, failurePolicy: Fail) selects this ConfigMap by its labels
 * (`app.kubernetes.io/part-of: tekton-pruner`, `pruner.tekton.dev/config-type: namespace`) for
 * CREATE, UPDATE and DELETE, so it must be serving when this is created and still serving when
 * this is deleted: on destroy this goes before the release. The webhook would also refuse to
 * delete the global config while a namespace config exists (pkg/webhook/configmapvalidation.go
 * `Admit`), but it never sees the global config: its objectSelector requires
 * `config-type: global`, which components/cluster/prunerInstall.ts drops from that object.
 */
export class RetentionPolicy extends pulumi.ComponentResource {
  public readonly configMap: k8s.core.v1.ConfigMap;

  constructor(name: string, args: RetentionPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tekton-gitlab:app:RetentionPolicy", name, {}, opts);
    // The app's labels, except `app.kubernetes.io/part-of`: the pruner's webhook requires
    // `tekton-pruner` there (namespacePrunerConfigMap puts its labels last).
    const manifest = namespacePrunerConfigMap(
      args.app.namespace,
      args.retention,
      appLabels(args.app),
    );
    this.configMap = new k8s.core.v1.ConfigMap(
      `${name}-pruner-config`,
      { metadata: manifest.metadata, data: manifest.data },
      childOptions(this, opts)(),
    );
    this.registerOutputs({});
  }
}
