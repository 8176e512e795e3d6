// The pruner's readiness gate: a Job that completes only once the Tekton Pruner's validating
// webhook answers. Pure builders, deployed by components/cluster/prunerInstall.ts; the Job is
// tekton/cluster/readinessGate.ts's `gateManifests` (see there for why pulumi-kubernetes needs it).
//
// Why the pruner needs its own: its webhook Deployment has no readiness probe
// (tektoncd/pruner v0.4.1 config/webhook.yaml), so the release ConfigFile is ready as soon as the
// container starts, before the webhook has made its certificate and written the `caBundle` into
// its ValidatingWebhookConfiguration (pkg/webhook/configmapvalidation.go `Reconcile`). That
// configuration is static, with failurePolicy: Fail, and selects every ConfigMap labelled
// `pruner.tekton.dev/config-type: namespace` (config/601-webhook-configuration.yaml): a build
// namespace's tekton-pruner-namespace-spec created in that window is refused ("failed calling
// webhook"), and pulumi-kubernetes does not retry that.
import * as path from "node:path";
import { readScript } from "../core/scripts";
import { GATE_LABELS, gateManifests } from "./readinessGate";
import { PRUNER_NAMESPACE, PRUNER_NAMESPACE_CONFIG_MAP, prunerConfigLabels } from "./pruner";

export const PRUNER_GATE_NAME = "tekton-gitlab-pruner-ready";

/**
 * A namespace-level pruner config in the pruner's own namespace: the webhook refuses it
 * (pkg/webhook/configmapvalidation.go `Admit`: config-type namespace in the system namespace is
 * neither a global nor a namespace config), with PROBE_REFUSAL. A dry-run that is admitted
 * means no webhook was called yet; one refused with anything else (no endpoints, a TLS error)
 * means it does not answer yet. Only that refusal proves it serves. Nothing is stored.
 */
export const PRUNER_PROBE = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: {
    name: PRUNER_NAMESPACE_CONFIG_MAP,
    labels: { ...GATE_LABELS, ...prunerConfigLabels("namespace") } as Record<string, string>,
  },
  data: { "ns-config": "successfulHistoryLimit: 1\n" },
};
export const PRUNER_PROBE_REFUSAL = "wrong config-type label or namespace combination";

/** scripts/pruner-webhook-ready.sh (bash): dry-runs PRUNER_PROBE until the refusal comes. */
export const PRUNER_GATE_SCRIPT = readScript(
  path.join(__dirname, "scripts"),
  "pruner-webhook-ready.sh",
);

/** ServiceAccount, Role (create ConfigMaps: what the dry-run is authorized as), binding, Job. */
export function prunerGateManifests(args: { image: string; prunerVersion: string }) {
  return gateManifests({
    name: PRUNER_GATE_NAME,
    namespace: PRUNER_NAMESPACE,
    // Create only: it can overwrite no existing ConfigMap (Tekton's config-* all exist).
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["create"] }],
    image: args.image,
    containerName: "wait-for-pruner-webhook",
    script: PRUNER_GATE_SCRIPT,
    env: { PROBE: JSON.stringify(PRUNER_PROBE), PROBE_REFUSAL: PRUNER_PROBE_REFUSAL },
    // An upgrade of the pruner replaces the Job, so it runs again.
    podAnnotations: { "tekton-gitlab.io/pruner-version": args.prunerVersion },
  });
}
