// Tekton Pruner, as this stack installs and configures it: where its release lives, the global
// config it sets, and the namespace-level config each build namespace gets. Pure values;
// components/cluster/prunerInstall.ts and components/app/retentionPolicy.ts register them.
//
// Every name below is tektoncd/pruner v0.4.1's:
// - pkg/config/constants.go: `PrunerConfigMapName` "tekton-pruner-default-spec" (global, in the
//   system namespace), `PrunerNamespaceConfigMapName` "tekton-pruner-namespace-spec",
//   `PrunerGlobalConfigKey` "global-config", `PrunerNamespaceConfigKey` "ns-config".
// - pkg/config/config.go `PrunerConfig`: yaml keys `enforcedConfigLevel`,
//   `ttlSecondsAfterFinished`, `successfulHistoryLimit`, `failedHistoryLimit`, `historyLimit`;
//   `LoadGlobalConfig`/`LoadNamespaceConfig` unmarshal the two keys above.
// - pkg/reconciler/namespaceprunerconfig/controller.go `NewController`: the controller loads
//   every ConfigMap named tekton-pruner-namespace-spec (filter by name, any namespace).
// - config/601-webhook-configuration.yaml + pkg/webhook/configmapvalidation.go
//   `validateRequiredLabels`: the validating webhook (failurePolicy: Fail) selects ConfigMaps
//   labelled `app.kubernetes.io/part-of: tekton-pruner` and `pruner.tekton.dev/config-type:
//   global|namespace`, and rejects a pruner ConfigMap without them or in tekton-pipelines,
//   kube-*, openshift-* (`validateNamespaceForConfig`).
import { RetentionConfig } from "../../config/schema";

/** The namespace of the pruner's controller, webhook and global config (config/*.yaml). */
export const PRUNER_NAMESPACE = "tekton-pipelines";
export const PRUNER_GLOBAL_CONFIG_MAP = "tekton-pruner-default-spec";
export const PRUNER_GLOBAL_CONFIG_KEY = "global-config";
export const PRUNER_NAMESPACE_CONFIG_MAP = "tekton-pruner-namespace-spec";
export const PRUNER_NAMESPACE_CONFIG_KEY = "ns-config";

/** The label whose value the pruner's webhook selects global and namespace configs by. */
export const PRUNER_CONFIG_TYPE_LABEL = "pruner.tekton.dev/config-type";

/** The labels the pruner's webhook selects and requires (see above). */
export function prunerConfigLabels(type: "global" | "namespace"): Record<string, string> {
  return {
    "app.kubernetes.io/part-of": "tekton-pruner",
    [PRUNER_CONFIG_TYPE_LABEL]: type,
  };
}

/** `<base>/pruner/previous/<version>/release.yaml` (README "Installation"; release pipeline). */
export function prunerReleaseUrl(releaseBaseUrl: string, version: string): string {
  return `${releaseBaseUrl}/pruner/previous/${version}/release.yaml`;
}

/**
 * The global config. The release ships `enforcedConfigLevel: global` and `historyLimit: 100`
 * (config/600-tekton-pruner-default-spec.yaml). At level `global` the pruner reads the global
 * root only and ignores every namespace ConfigMap (pkg/config/config.go `getResourceFieldData`,
 * case EnforcedConfigLevelGlobal; the level comes from the global config's root,
 * `getEnforcedConfigLevel`). `namespace` makes it look at the namespace's
 * tekton-pruner-namespace-spec first, then fall back to the global root (case
 * EnforcedConfigLevelNamespace). `historyLimit: 100` stays: it is the fallback for namespaces
 * this stack does not manage, and the cap the webhook holds namespace limits to
 * (`validatePrunerConfig`; MAX_RETENTION_HISTORY in config/schema.ts). No global TTL: a
 * namespace without its own would inherit it.
 */
export const PRUNER_GLOBAL_CONFIG = [
  "enforcedConfigLevel: namespace",
  "historyLimit: 100",
  "",
].join("\n");

/** `ns-config`: the app's retention, keys as the pruner reads them (PrunerConfig yaml tags). */
export function namespaceConfigText(retention: RetentionConfig): string {
  const lines = [
    `successfulHistoryLimit: ${retention.successfulHistoryLimit}`,
    `failedHistoryLimit: ${retention.failedHistoryLimit}`,
  ];
  if (retention.ttlSecondsAfterFinished !== undefined) {
    lines.push(`ttlSecondsAfterFinished: ${retention.ttlSecondsAfterFinished}`);
  }
  return lines.join("\n") + "\n";
}

/** The namespace-level pruner ConfigMap of one build namespace. */
export function namespacePrunerConfigMap(
  namespace: string,
  retention: RetentionConfig,
  labels: Record<string, string> = {},
) {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: PRUNER_NAMESPACE_CONFIG_MAP,
      namespace,
      labels: { ...labels, ...prunerConfigLabels("namespace") },
    },
    data: { [PRUNER_NAMESPACE_CONFIG_KEY]: namespaceConfigText(retention) },
  };
}
