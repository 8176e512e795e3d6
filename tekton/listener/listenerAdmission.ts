// The admission policy that confines the shared listener to the PipelineRuns its Triggers'
// templates render. The listener's ServiceAccount may create PipelineRuns in every app namespace
// (Triggers v0.37.0 creates them as that account: pkg/sink/sink.go `processTrigger` ->
// `CreateResources` -> pkg/resources/create.go `Create`, a dynamic client with the sink's own
// credentials). Without this policy a compromised listener could create a run that inlines a
// pipelineSpec or binds the app's `git-write` Secret to a workspace of its choosing and so read
// the app's keys. With it, the API server refuses any run from that account that differs from
// what the app's TriggerTemplates render: the push build's (tekton/listener/triggers.ts
// `pipelineRunTemplate`) and, with `mergeRequests.build`, the merge request build's
// (tekton/mergeRequest/triggers.ts `mergeRequestRunTemplate`), each whole, never a mix of both.
import { AppConfig, ListenerConfig } from "../../config/schema";
import { celStringLiteral, listenerNames, pipelineRunTemplate, TriggerContext } from "./triggers";
import { PipelineRunTemplate, WorkspaceBinding } from "../core/triggerTypes";
import { appLabels } from "../core/names";
import { mergeRequestRunTemplate } from "../mergeRequest/triggers";

/** CEL's view of a string literal (the same escaping the Triggers filter uses). */
const lit = celStringLiteral;
const list = (values: string[]) => `[${values.map(lit).join(", ")}]`;

/**
 * Fields of tekton.dev/v1 PipelineRun (Tekton Pipelines v1.15.0
 * config/300-crds/300-pipelinerun.yaml, version v1). The CRD schema is structural, so the API
 * server prunes any other field before admission: absent-checks over these lists cover every
 * field a run can carry.
 */
export const PIPELINE_RUN_V1_FIELDS = {
  spec: [
    "managedBy",
    "params",
    "pipelineRef",
    "pipelineSpec",
    "status",
    "taskRunSpecs",
    "taskRunTemplate",
    "timeouts",
    "workspaces",
  ],
  pipelineRef: ["apiVersion", "name", "params", "resolver"],
  podTemplate: [
    "affinity",
    "automountServiceAccountToken",
    "dnsConfig",
    "dnsPolicy",
    "enableServiceLinks",
    "env",
    "hostAliases",
    "hostNetwork",
    "hostUsers",
    "imagePullSecrets",
    "nodeSelector",
    "priorityClassName",
    "runtimeClassName",
    "schedulerName",
    "securityContext",
    "tolerations",
    "topologySpreadConstraints",
    "volumes",
  ],
  taskRunSpec: [
    "computeResources",
    "metadata",
    "pipelineTaskName",
    "podTemplate",
    "serviceAccountName",
    "sidecarSpecs",
    "stepSpecs",
    "timeout",
  ],
  workspaceSources: [
    "configMap",
    "csi",
    "emptyDir",
    "persistentVolumeClaim",
    "projected",
    "secret",
    "volumeClaimTemplate",
  ],
} as const;

export interface Validation {
  expression: string;
  message: string;
}

/** The Kubernetes user name the shared listener's requests carry. */
export function listenerUsername(listener: Pick<ListenerConfig, "namespace">): string {
  return `system:serviceaccount:${listener.namespace}:${listenerNames(listener).serviceAccount}`;
}

const absent = (base: string, fields: readonly string[], keep: readonly string[] = []) =>
  fields
    .filter((field) => !keep.includes(field))
    .map((field) => `!has(${base}.${field})`)
    .join(" && ");

/** One workspace binding, exactly as the template binds it (name and source). */
function workspaceMatches(w: string, binding: WorkspaceBinding): string {
  const terms = [`${w}.name == ${lit(binding.name)}`];
  const source = Object.keys(binding).find((key) => key !== "name")!;
  terms.push(`has(${w}.${source})`);
  terms.push(absent(w, PIPELINE_RUN_V1_FIELDS.workspaceSources, [source]));
  terms.push(`!has(${w}.subPath)`);
  if ("secret" in binding) {
    terms.push(`${w}.secret.secretName == ${lit(binding.secret.secretName)}`);
    const items = binding.secret.items ?? [];
    terms.push(
      items.length === 0
        ? `(!has(${w}.secret.items) || size(${w}.secret.items) == 0)`
        : [
            `has(${w}.secret.items) && size(${w}.secret.items) == ${items.length}`,
            ...items.map(
              (item, i) =>
                `${w}.secret.items[${i}].key == ${lit(item.key)} && ` +
                `${w}.secret.items[${i}].path == ${lit(item.path)}`,
            ),
          ].join(" && "),
    );
  }
  if ("configMap" in binding) {
    terms.push(`${w}.configMap.name == ${lit(binding.configMap.name)}`);
  }
  return `(${terms.join(" && ")})`;
}

/**
 * What a PipelineRun the listener creates in the app's namespace must look like, derived from
 * the rendered template (`run`) so the two cannot drift. Every expression must hold (Kubernetes
 * ANDs a policy's validations). Portable CEL only (has, size, all, exists, in, ==).
 */
function shapeValidations(run: PipelineRunTemplate): Validation[] {
  const spec = "object.spec";
  const trt = `${spec}.taskRunTemplate`;
  const pt = `${trt}.podTemplate`;
  const validations: Validation[] = [];
  const add = (message: string, ...terms: string[]) =>
    validations.push({ expression: terms.filter((t) => t !== "").join(" && "), message });

  add(
    `the listener may only create runs of ${run.spec.pipelineRef.name}: no pipelineSpec, no other fields`,
    absent(spec, PIPELINE_RUN_V1_FIELDS.spec, Object.keys(run.spec)),
  );
  add(
    `spec.pipelineRef must be exactly {name: ${run.spec.pipelineRef.name}} (no resolver, no bundle)`,
    `has(${spec}.pipelineRef)`,
    `${spec}.pipelineRef.name == ${lit(run.spec.pipelineRef.name)}`,
    absent(`${spec}.pipelineRef`, PIPELINE_RUN_V1_FIELDS.pipelineRef, ["name"]),
  );

  const params = run.spec.params;
  // Values without `$(tt.params...)` are fixed by the template (the clone URLs): pinned.
  const fixed = params.filter((p) => !p.value.includes("$(tt.params."));
  add(
    `spec.params must be exactly ${params.map((p) => p.name).join(", ")}, with the template's clone URLs`,
    `has(${spec}.params) && size(${spec}.params) == ${params.length}`,
    `${spec}.params.all(p, p.name in ${list(params.map((p) => p.name))})`,
    ...params.map((p) => `${spec}.params.exists(p, p.name == ${lit(p.name)})`),
    ...fixed.map(
      (p) => `${spec}.params.all(p, p.name != ${lit(p.name)} || p.value == ${lit(p.value)})`,
    ),
  );

  const workspaces = run.spec.workspaces;
  add(
    `spec.workspaces must be exactly the template's (${workspaces.map((w) => w.name).join(", ")}), each bound to the same source`,
    `has(${spec}.workspaces) && size(${spec}.workspaces) == ${workspaces.length}`,
    ...workspaces.map((b) => `${spec}.workspaces.exists(w, w.name == ${lit(b.name)})`),
    `${spec}.workspaces.all(w, ${workspaces.map((b) => workspaceMatches("w", b)).join(" || ")})`,
  );

  const template = run.spec.taskRunTemplate;
  add(
    `spec.taskRunTemplate.serviceAccountName must be ${template.serviceAccountName}`,
    `has(${trt}) && has(${trt}.serviceAccountName)`,
    `${trt}.serviceAccountName == ${lit(template.serviceAccountName)}`,
  );
  const fsGroup = template.podTemplate?.securityContext?.fsGroup;
  add(
    fsGroup === undefined
      ? "spec.taskRunTemplate.podTemplate is not allowed"
      : `spec.taskRunTemplate.podTemplate may only set securityContext.fsGroup ${fsGroup}`,
    fsGroup === undefined
      ? `!has(${pt})`
      : [
          `(!has(${pt}) || (`,
          absent(pt, PIPELINE_RUN_V1_FIELDS.podTemplate, ["securityContext"]),
          ` && (!has(${pt}.securityContext) || (`,
          `${pt}.securityContext.all(k, k == "fsGroup")`,
          ` && (!has(${pt}.securityContext.fsGroup) || ${pt}.securityContext.fsGroup == ${fsGroup})`,
          `))))`,
        ].join(""),
  );

  // Exactly the template's entries, each task with its own account: build-and-push ->
  // tekton-build-push (registry credentials) and cancel-superseded -> tekton-cancel
  // (tekton/cancel/cancelTask.ts), the one account of the build with an API token. Any other pairing
  // would hand that token, or the registry's, to a task whose steps were not written for it.
  const specs = run.spec.taskRunSpecs ?? [];
  const trs = `${spec}.taskRunSpecs`;
  add(
    specs.length === 0
      ? "spec.taskRunSpecs is not allowed"
      : `spec.taskRunSpecs must be exactly ${specs.map((s) => `${s.pipelineTaskName} -> ${s.serviceAccountName}`).join(", ")}`,
    specs.length === 0
      ? `(!has(${trs}) || size(${trs}) == 0)`
      : [
          `has(${trs}) && size(${trs}) == ${specs.length}`,
          ...specs.map((s) => `${trs}.exists(s, s.pipelineTaskName == ${lit(s.pipelineTaskName)})`),
          `${trs}.all(s, ${absent("s", PIPELINE_RUN_V1_FIELDS.taskRunSpec, ["pipelineTaskName", "serviceAccountName"])} && (${specs
            .map(
              (s) =>
                `(s.pipelineTaskName == ${lit(s.pipelineTaskName)} && has(s.serviceAccountName) && s.serviceAccountName == ${lit(s.serviceAccountName)})`,
            )
            .join(" || ")}))`,
        ].join(" && "),
  );
  return validations;
}

/**
 * The run shapes the app's Triggers may create. Only the push build's: exactly its validations,
 * as they always were. With merge request builds, two: a run must name one of the two pipelines,
 * and each shape's validations then hold for the runs of its pipeline (each expression guarded
 * by its pipelineRef.name), so a run is the one template's or the other's whole: the merge
 * request pipeline with the push build's git-write workspace, the push pipeline with the merge
 * request's params, or a status task paired with the cancel account are all refused.
 */
function runShapeValidations(app: AppConfig, ctx: TriggerContext): Validation[] {
  const push = pipelineRunTemplate(app, ctx);
  if (!app.mergeRequests.build) return shapeValidations(push);
  const runs = [push, mergeRequestRunTemplate(app, ctx)];
  const names = runs.map((run) => run.spec.pipelineRef.name);
  const ref = "object.spec.pipelineRef";
  const named = (name: string) => `has(${ref}) && has(${ref}.name) && ${ref}.name == ${lit(name)}`;
  return [
    {
      expression: `has(${ref}) && has(${ref}.name) && ${ref}.name in ${list(names)}`,
      message: `spec.pipelineRef.name must be one of ${names.join(", ")}`,
    },
    ...runs.flatMap((run) =>
      shapeValidations(run).map(({ expression, message }) => ({
        expression: `!(${named(run.spec.pipelineRef.name)}) || (${expression})`,
        message: `runs of ${run.spec.pipelineRef.name}: ${message}`,
      })),
    ),
  ];
}

/** Name of the app's policy and binding (cluster-scoped: unique per stack and app). */
export function admissionPolicyName(app: Pick<AppConfig, "name" | "namespace">): string {
  return `tekton-gitlab-listener-runs-${app.namespace}`;
}

export interface ValidatingAdmissionPolicyManifest {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "ValidatingAdmissionPolicy";
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    failurePolicy: "Fail";
    matchConstraints: {
      matchPolicy: "Equivalent";
      namespaceSelector: { matchLabels: Record<string, string> };
      resourceRules: {
        apiGroups: string[];
        apiVersions: string[];
        operations: string[];
        resources: string[];
      }[];
    };
    matchConditions: { name: string; expression: string }[];
    validations: Validation[];
  };
}

export interface ValidatingAdmissionPolicyBindingManifest {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "ValidatingAdmissionPolicyBinding";
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    policyName: string;
    validationActions: ["Deny"];
    matchResources: { namespaceSelector: { matchLabels: Record<string, string> } };
  };
}

/**
 * One policy and one binding per app, both limited to the app's namespace (by the
 * `kubernetes.io/metadata.name` label the API server sets on every namespace), so each policy
 * pins that namespace's own pipeline and Secrets and needs no parameter objects. They match only
 * CREATE of tekton.dev/v1 pipelineruns by the listener's user (matchConditions); with
 * `matchPolicy: Equivalent` a v1beta1 request is converted to v1 and checked the same way.
 * failurePolicy Fail: a broken policy refuses the listener's runs rather than letting them pass.
 */
export function listenerAdmission(
  listener: Pick<ListenerConfig, "namespace">,
  app: AppConfig,
  ctx: TriggerContext,
): [ValidatingAdmissionPolicyManifest, ValidatingAdmissionPolicyBindingManifest] {
  const name = admissionPolicyName(app);
  const namespaceSelector = { matchLabels: { "kubernetes.io/metadata.name": app.namespace } };
  const labels = appLabels(app);
  return [
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name, labels },
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          matchPolicy: "Equivalent",
          namespaceSelector,
          resourceRules: [
            {
              apiGroups: ["tekton.dev"],
              apiVersions: ["v1"],
              operations: ["CREATE"],
              resources: ["pipelineruns"],
            },
          ],
        },
        matchConditions: [
          {
            name: "only-the-shared-listener",
            expression: `request.userInfo.username == ${lit(listenerUsername(listener))}`,
          },
        ],
        validations: runShapeValidations(app, ctx),
      },
    },
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name, labels },
      spec: {
        policyName: name,
        validationActions: ["Deny"],
        matchResources: { namespaceSelector },
      },
    },
  ];
}
