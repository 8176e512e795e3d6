// The readiness gate: a Job that completes only once Tekton's admission webhooks admit objects.
// Pure builders (plain manifests and the script), deployed by components/cluster/tektonInstall.ts.
//
// Why: the release ConfigFiles are ready when Tekton's Deployments are, but the API server's
// calls to the webhooks can fail for a while after that (Service endpoints propagating, the
// webhook controller filling in rules and caBundle). pulumi-kubernetes retries a create only on
// NotFound and NoMatch (provider/pkg/await/await.go, `Creation`: `retrier.Do(apierrors.IsNotFound,
// meta.IsNoMatchError)`), so a create refused with "failed calling webhook" fails the `up`.
// pulumi-kubernetes awaits a batch/v1 Job until its `Complete` condition and fails at once on
// `Failed` (provider/pkg/await/job.go, `jobInitAwaiter.Await`, default timeout 10 minutes), so
// everything that depends on the Job waits for the webhooks.
import * as path from "node:path";
import { readScript } from "../core/scripts";

/** Namespace of the Pipelines and Triggers releases (config/100-namespace in both). */
export const TEKTON_NAMESPACE = "tekton-pipelines";

/** Name of the gate's Job, ServiceAccount, Role and RoleBinding (stable: see README). */
export const READINESS_GATE_NAME = "tekton-gitlab-webhooks-ready";

/** Attempts and the pause between them; each kubectl call is cut off after REQUEST_TIMEOUT. */
export const GATE_ATTEMPTS = 36;
export const GATE_INTERVAL_SECONDS = 5;
const GATE_REQUEST_TIMEOUT = "5s";
/**
 * Worst case of the loop: per attempt two calls of at most 5 s and a 5 s pause, 36 times: 9
 * minutes. The Job's deadline and Pulumi's create timeout sit above it.
 */
export const GATE_DEADLINE_SECONDS = 660;
export const GATE_CREATE_TIMEOUT = "12m";

/** On every gate object and probe. */
export const GATE_LABELS = { "app.kubernetes.io/managed-by": "tekton-gitlab" };

/**
 * Small objects each release's webhooks handle: a Task (Pipelines) and an EventListener
 * (Triggers). A dry-run that merely succeeds is not enough: until the webhook controller has
 * filled in its configurations' rules (knative pkg webhook/resourcesemantics, which sets rules
 * and caBundle together), the API server calls no webhook at all. So each probe leaves out a
 * field the release's defaulting webhook always sets, and the gate requires it in the answer:
 * - Task: a param without `type` gets `string` (Pipelines v1.15.0 pkg/apis/pipeline/v1/
 *   param_types.go, `ParamSpec.SetDefaults`);
 * - EventListener: a binding without `kind` gets `TriggerBinding` (Triggers v0.37.0
 *   pkg/apis/triggers/v1beta1/event_listener_defaults.go, `defaultBindings`, run when the
 *   context says `WithUpgradeViaDefaulting`, which the defaulting admission controller in
 *   cmd/webhook/main.go sets).
 * generateName: a dry-run never conflicts with an existing object.
 */
export const PROBE_TASK = {
  apiVersion: "tekton.dev/v1",
  kind: "Task",
  metadata: { generateName: "tekton-gitlab-readiness-", labels: GATE_LABELS },
  spec: {
    params: [{ name: "probe" }],
    steps: [{ name: "probe", image: "registry.k8s.io/pause:3.10", script: "exit 0" }],
  },
};
export const PROBE_LISTENER = {
  apiVersion: "triggers.tekton.dev/v1beta1",
  kind: "EventListener",
  metadata: { generateName: "tekton-gitlab-readiness-", labels: GATE_LABELS },
  spec: {
    serviceAccountName: "default",
    triggers: [
      {
        name: "probe",
        bindings: [{ ref: "tekton-gitlab-readiness-probe" }],
        template: { ref: "tekton-gitlab-readiness-probe" },
      },
    ],
  },
};

/** Where each probe's answer shows the defaulting webhook ran, and the value it sets. */
export const PROBE_TASK_DEFAULTED = { path: "{.spec.params[0].type}", value: "string" };
export const PROBE_LISTENER_DEFAULTED = {
  path: "{.spec.triggers[0].bindings[0].kind}",
  value: "TriggerBinding",
};

/**
 * The gate's script, scripts/webhooks-ready.sh (bash; the kubectl image has it). Server-side dry-runs go through
 * authentication, authorization and admission, webhooks included (failurePolicy: Fail in both
 * releases' config/500-webhooks.yaml), and store nothing. Bounded: GATE_ATTEMPTS tries, then
 * exit 1 with the last refusal.
 */
export const GATE_SCRIPT = readScript(path.join(__dirname, "scripts"), "webhooks-ready.sh");

export interface ReadinessGateArgs {
  /** The stack's pinned kubectl image (tekton-gitlab:images.kubectl). */
  image: string;
  /** Installed versions: part of the pod template, so an upgrade replaces the Job (re-runs it). */
  versions: { pipelines: string; triggers: string };
}

const RBAC_API = "rbac.authorization.k8s.io";

/** What one gate is: the rest of its manifests is the same for every gate. */
export interface GateSpec {
  /** Name of the gate's Job, ServiceAccount, Role and RoleBinding. */
  name: string;
  namespace: string;
  /** The Role's rules: a dry-run is authorized as the real request would be. */
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  image: string;
  containerName: string;
  /** The bash script the container runs; it reads GATE_* and the gate's own `env`. */
  script: string;
  /** The gate's own variables (its probes), after GATE_ATTEMPTS ... GATE_NAMESPACE. */
  env: Record<string, string>;
  /** On the pod template: a change (an upgrade) replaces the Job, so it runs again. */
  podAnnotations: Record<string, string>;
}

/** A gate's ServiceAccount, Role, RoleBinding and Job (this gate's and tekton/cluster/prunerGate.ts's). */
export function gateManifests(gate: GateSpec) {
  const metadata = { name: gate.name, namespace: gate.namespace, labels: GATE_LABELS };
  const serviceAccount = { apiVersion: "v1", kind: "ServiceAccount", metadata };
  const role = { apiVersion: `${RBAC_API}/v1`, kind: "Role", metadata, rules: gate.rules };
  const roleBinding = {
    apiVersion: `${RBAC_API}/v1`,
    kind: "RoleBinding",
    metadata,
    roleRef: { apiGroup: RBAC_API, kind: "Role", name: gate.name },
    subjects: [{ kind: "ServiceAccount", name: gate.name, namespace: gate.namespace }],
  };
  const env: Record<string, string> = {
    GATE_ATTEMPTS: String(GATE_ATTEMPTS),
    GATE_INTERVAL_SECONDS: String(GATE_INTERVAL_SECONDS),
    GATE_REQUEST_TIMEOUT,
    GATE_NAMESPACE: gate.namespace,
    ...gate.env,
    // kubectl writes its discovery cache under $HOME; the root filesystem is read-only.
    HOME: "/tmp",
  };
  const job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      ...metadata,
      // A gate that failed (webhooks never came up) is replaced, so re-run, by the next `up`
      // instead of being awaited again as failed (pulumi-kubernetes provider/pkg/provider/
      // provider.go `Diff`, metadata.ReplaceUnready, Jobs only).
      annotations: { "pulumi.com/replaceUnready": "true" },
    },
    spec: {
      // The script retries; a second pod would only repeat it.
      backoffLimit: 0,
      activeDeadlineSeconds: GATE_DEADLINE_SECONDS,
      // No ttlSecondsAfterFinished: deleting the finished Job would make `pulumi refresh` drop
      // it from the state and the next `up` run it again.
      template: {
        metadata: { labels: GATE_LABELS, annotations: gate.podAnnotations },
        spec: {
          serviceAccountName: gate.name,
          restartPolicy: "Never",
          // tekton-pipelines is labelled pod-security.kubernetes.io/enforce: restricted.
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65534,
            runAsGroup: 65534,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: gate.containerName,
              image: gate.image,
              command: ["bash", "-c", gate.script],
              env: Object.entries(env).map(([name, value]) => ({ name, value })),
              // The last lines of output (the refusal) become the termination message, which
              // pulumi-kubernetes shows when the Job fails (provider/pkg/await/checker/pod/
              // check.go, `containerTerminatedError`).
              terminationMessagePolicy: "FallbackToLogsOnError",
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              resources: {
                requests: { cpu: "10m", memory: "32Mi" },
                limits: { memory: "128Mi" },
              },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: {} }],
        },
      },
    },
  };
  return { serviceAccount, role, roleBinding, job };
}

/** The gate's ServiceAccount, Role (dry-run create of Tasks and EventListeners), binding, Job. */
export function readinessGateManifests(args: ReadinessGateArgs) {
  return gateManifests({
    name: READINESS_GATE_NAME,
    namespace: TEKTON_NAMESPACE,
    // A dry-run is authorized as the real request would be: `create`, nothing else.
    rules: [
      { apiGroups: ["tekton.dev"], resources: ["tasks"], verbs: ["create"] },
      { apiGroups: ["triggers.tekton.dev"], resources: ["eventlisteners"], verbs: ["create"] },
    ],
    image: args.image,
    containerName: "wait-for-webhooks",
    script: GATE_SCRIPT,
    env: {
      PROBE_TASK: JSON.stringify(PROBE_TASK),
      PROBE_LISTENER: JSON.stringify(PROBE_LISTENER),
      PROBE_TASK_PATH: PROBE_TASK_DEFAULTED.path,
      PROBE_TASK_VALUE: PROBE_TASK_DEFAULTED.value,
      PROBE_LISTENER_PATH: PROBE_LISTENER_DEFAULTED.path,
      PROBE_LISTENER_VALUE: PROBE_LISTENER_DEFAULTED.value,
    },
    podAnnotations: {
      "tekton-gitlab.io/pipelines-version": args.versions.pipelines,
      "tekton-gitlab.io/triggers-version": args.versions.triggers,
    },
  });
}
