// A model of the shared EventListener's sink, step for step as Tekton Triggers v0.37.0 does it,
// over the manifests the stack renders (no cluster):
//  - pkg/sink/sink.go `HandleEvent` -> `selectTriggers(el.Spec.NamespaceSelector,
//    el.Spec.LabelSelector)`: for each name in matchNames, the Triggers of that namespace whose
//    labels match; then `processTrigger` for every selected Trigger (each push reaches all);
//  - `ExecuteInterceptors`: the Trigger's interceptors in order, the first that does not
//    continue ends that Trigger; the triggerID handed to interceptors is
//    `namespaces/<trigger ns>/triggers/<trigger name>` (`ExecuteTriggerInterceptors`);
//  - pkg/interceptors/gitlab/gitlab.go `Process`: event type allow-list, then X-Gitlab-Token
//    (non-empty) compared with the Secret `secretRef` names in the namespace `ParseTriggerID`
//    takes from the triggerID;
//  - cel: the filter must be exactly true (an error, e.g. a missing field, stops like false);
//    overlays become extensions. Expressions run in a real CEL interpreter configured like
//    Triggers' (tests/harness/cel.ts);
//  - `processTrigger` resolves the binding and template in the Trigger's namespace
//    (`TriggerBindings(t.Namespace)`, `TriggerTemplates(t.Namespace)`) and `CreateResources`
//    creates each resource in its template namespace or else the Trigger's
//    (pkg/resources/create.go `Create`), as the listener's ServiceAccount (RBAC checked here).
// What the model does not cover (other interceptors, binding paths beyond `a.b.c`, overlay keys
// with sjson paths) fails the test loudly rather than guessing.
import * as assert from "node:assert/strict";
import { AppConfig, ValidatedConfig } from "../../config/schema";
import { buildContext } from "../../tekton/build/context";
import { mergeRequestTriggerObjects } from "../../tekton/mergeRequest/triggers";
import {
  sharedEventListener,
  triggerNames,
  triggerObjects,
  WEBHOOK_TOKEN_KEY,
} from "../../tekton/listener/triggers";
import {
  EventListener,
  PipelineRunTemplate,
  RoleBindingManifest,
  RoleManifest,
  Trigger,
  TriggerBinding,
  TriggerInterceptor,
  TriggerTemplate,
} from "../../tekton/core/triggerTypes";
import { CelError, EvalContext, evaluateCel, overlayValue } from "./cel";

/** One HTTP delivery as GitLab sends it. */
export interface Delivery {
  headers: Record<string, string>;
  body: any;
}

/** The cluster objects the sink reads. */
export interface Cluster {
  listener: EventListener;
  triggers: Trigger[];
  bindings: TriggerBinding[];
  templates: TriggerTemplate[];
  /** `namespace/name` -> Secret data (plain strings). */
  secrets: Record<string, Record<string, string>>;
  roles: RoleManifest[];
  roleBindings: RoleBindingManifest[];
}

/**
 * What the sink sees of a validated stack config: the shared EventListener and every app's
 * Trigger, binding, template, Role and RoleBinding as the builders render them (with
 * `mergeRequests.build`, also its merge request template, bindings and Triggers), and each app's
 * webhook Secret holding `tokenOf(app)`.
 */
export function renderedCluster(
  config: ValidatedConfig,
  tokenOf: (app: AppConfig) => string,
): Cluster {
  const ctx = buildContext(config);
  const perApp = config.apps.map((app) => triggerObjects(app, ctx, config.listener));
  const mergeRequests = config.apps.flatMap(
    (app) => mergeRequestTriggerObjects(app, ctx, config.listener) ?? [],
  );
  return {
    listener: sharedEventListener(config.listener, config.apps),
    triggers: [...perApp.map((o) => o.trigger), ...mergeRequests.flatMap((o) => o.triggers)],
    bindings: [...perApp.map((o) => o.binding), ...mergeRequests.flatMap((o) => o.bindings)],
    templates: [...perApp.map((o) => o.template), ...mergeRequests.map((o) => o.template)],
    roles: perApp.map((o) => o.role),
    roleBindings: perApp.map((o) => o.roleBinding),
    secrets: Object.fromEntries(
      config.apps.map((app) => [
        `${app.namespace}/${triggerNames(app).webhookSecret}`,
        { [WEBHOOK_TOKEN_KEY]: tokenOf(app) },
      ]),
    ),
  };
}

export interface Created {
  namespace: string;
  /** The Trigger that created it, `namespace/name`. */
  trigger: string;
  run: PipelineRunTemplate;
}

export interface Outcome {
  created: Created[];
  /** Interceptor calls, by ClusterInterceptor name ("cel", "gitlab"). */
  calls: Record<string, number>;
  /** Why each Trigger stopped, by `namespace/name` (absent: it created its resources). */
  stopped: Record<string, string>;
}

/** Triggers v0.37.0 pkg/apis/triggers/v1beta1/interceptor_types.go `ParseTriggerID`. */
function parseTriggerId(id: string): { namespace?: string; name?: string } {
  const parts = id.split("/");
  return parts.length === 4 ? { namespace: parts[1], name: parts[3] } : {};
}

/** A field path on the body, as a binding's `$(body.a.b)` reads it (Triggers v0.37.0
 * pkg/template/jsonpath.go `ParseJSONPath`); a missing key fails the binding. */
function field(body: any, path: string): unknown {
  let value = body;
  for (const key of path.split(".")) {
    if (value === null || typeof value !== "object" || !(key in value)) {
      throw new CelError(`no such key: ${key}`);
    }
    value = value[key];
  }
  return value;
}

/**
 * A CEL filter on `body` (and optionally the request's headers and the extensions so far), as
 * the cel interceptor evaluates it: true only for exactly `true`; a CEL error throws CelError.
 */
export function evaluateFilter(
  filter: string,
  body: any,
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): boolean {
  return evaluateCel(filter, { body, headers, extensions }) === true;
}

/** pkg/interceptors/cel/cel.go `Process`: each overlay on the original body, in order. */
function overlays(param: unknown, context: EvalContext): Record<string, unknown> {
  const list = (param ?? []) as { key: string; expression: string }[];
  return Object.fromEntries(
    list.map(({ key, expression }) => {
      assert.ok(/^[A-Za-z0-9_]+$/.test(key), `overlay key ${key}: sjson paths not modelled`);
      return [key, overlayValue(evaluateCel(expression, context))];
    }),
  );
}

type Step =
  { continue: true; extensions?: Record<string, unknown> } | { continue: false; why: string };

function runInterceptor(
  interceptor: TriggerInterceptor,
  delivery: Delivery,
  triggerId: string,
  cluster: Cluster,
  extensions: Record<string, unknown>,
): Step {
  const params = Object.fromEntries(interceptor.params.map((p) => [p.name, p.value]));
  const header = (name: string) =>
    Object.entries(delivery.headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ??
    "";
  if (interceptor.ref.name === "cel") {
    const context = { body: delivery.body, headers: delivery.headers, extensions };
    try {
      if (params.filter && evaluateCel(String(params.filter), context) !== true) {
        return { continue: false, why: "cel: filter false" };
      }
      return { continue: true, extensions: overlays(params.overlays, context) };
    } catch (error) {
      if (error instanceof CelError) return { continue: false, why: `cel: ${error.message}` };
      throw error;
    }
  }
  if (interceptor.ref.name === "gitlab") {
    const eventTypes = params.eventTypes as string[] | undefined;
    if (eventTypes && !eventTypes.includes(header("X-Gitlab-Event"))) {
      return { continue: false, why: "gitlab: event type not allowed" };
    }
    const ref = params.secretRef as { secretName: string; secretKey: string } | undefined;
    if (ref) {
      const token = header("X-Gitlab-Token");
      if (token === "") return { continue: false, why: "gitlab: no X-Gitlab-Token" };
      const { namespace } = parseTriggerId(triggerId);
      const secret = cluster.secrets[`${namespace}/${ref.secretName}`];
      if (!secret || secret[ref.secretKey] === undefined) {
        return { continue: false, why: "gitlab: error getting secret" };
      }
      if (secret[ref.secretKey] !== token) {
        return { continue: false, why: "gitlab: Invalid X-GitLab-Token" };
      }
    }
    return { continue: true };
  }
  return assert.fail(`unsupported interceptor ${interceptor.ref.name}`);
}

function matchesLabels(
  labels: Record<string, string> | undefined,
  selector?: EventListener["spec"]["labelSelector"],
) {
  return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
}

/** pkg/sink/sink.go `selectTriggers` for the listener's own selectors. */
export function selectTriggers(cluster: Cluster): Trigger[] {
  const { namespaceSelector, labelSelector } = cluster.listener.spec;
  const names = namespaceSelector?.matchNames ?? [];
  assert.ok(!names.includes("*"), "the listener must name its namespaces, not select all");
  const namespaces =
    names.length > 0 ? names : labelSelector ? [cluster.listener.metadata.namespace] : [];
  return namespaces.flatMap((ns) =>
    cluster.triggers.filter(
      (t) => t.metadata.namespace === ns && matchesLabels(t.metadata.labels, labelSelector),
    ),
  );
}

/** Whether the listener's ServiceAccount may `verb` `resource` in `namespace` (Roles only). */
function listenerMay(
  cluster: Cluster,
  verb: string,
  group: string,
  resource: string,
  namespace: string,
): boolean {
  const sa = cluster.listener.spec.serviceAccountName;
  const saNamespace = cluster.listener.metadata.namespace;
  return cluster.roleBindings.some((binding) => {
    if (binding.metadata.namespace !== namespace) return false;
    if (!binding.subjects.some((s) => s.name === sa && s.namespace === saNamespace)) return false;
    const role = cluster.roles.find(
      (r) => r.metadata.name === binding.roleRef.name && r.metadata.namespace === namespace,
    );
    return (role?.rules ?? []).some(
      (rule) =>
        rule.apiGroups.includes(group) &&
        rule.resources.includes(resource) &&
        rule.verbs.includes(verb),
    );
  });
}

/**
 * A binding's value as Triggers v0.37.0 pkg/template/jsonpath.go `getResults` renders it: a
 * string json.Marshal'ed with its quotes stripped (so still JSON-escaped, Go's escapes for <, >,
 * &, U+2028 and U+2029 included), anything else json.Marshal'ed.
 */
function jsonPathText(value: unknown): string {
  if (typeof value !== "string") return JSON.stringify(value);
  return JSON.stringify(value)
    .slice(1, -1)
    .replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Substitutes `$(body.x)` / `$(extensions.x)` (pkg/template/event.go `ResolveParams`; a path
 * that is not there fails the Trigger) and then `$(tt.params.x)` into the resource templates'
 * JSON (`ResolveResources`), like Triggers does.
 */
function instantiate(
  binding: TriggerBinding,
  template: TriggerTemplate,
  body: any,
  extensions: Record<string, unknown>,
): PipelineRunTemplate[] {
  const params = Object.fromEntries(
    binding.spec.params.map((param) => {
      const path = /^\$\((body|extensions)\.([A-Za-z0-9_.]+)\)$/.exec(param.value);
      assert.ok(path, `unsupported binding expression ${param.value}`);
      const value = field(path[1] === "body" ? body : extensions, path[2]);
      return [param.name, jsonPathText(value)];
    }),
  );
  const missing = template.spec.params.filter((p) => !(p.name in params) && !p.default);
  assert.deepEqual(missing, [], "template params the binding does not provide");
  let json = JSON.stringify(template.spec.resourcetemplates);
  for (const spec of template.spec.params) {
    json = json.split(`$(tt.params.${spec.name})`).join(params[spec.name] ?? spec.default ?? "");
  }
  assert.doesNotMatch(json, /\$\(tt\.params\./, "unresolved template param");
  return JSON.parse(json) as PipelineRunTemplate[];
}

/** One delivery through the shared listener: what it creates and what it costs. */
export function deliver(cluster: Cluster, delivery: Delivery): Outcome {
  const outcome: Outcome = { created: [], calls: {}, stopped: {} };
  for (const trigger of selectTriggers(cluster)) {
    const ns = trigger.metadata.namespace!;
    const id = `${ns}/${trigger.metadata.name}`;
    const triggerId = `namespaces/${ns}/triggers/${trigger.metadata.name}`;
    const extensions: Record<string, unknown> = {};
    let stopped: string | undefined;
    for (const interceptor of trigger.spec.interceptors) {
      outcome.calls[interceptor.ref.name] = (outcome.calls[interceptor.ref.name] ?? 0) + 1;
      const step = runInterceptor(interceptor, delivery, triggerId, cluster, extensions);
      if (!step.continue) {
        stopped = step.why;
        break;
      }
      Object.assign(extensions, step.extensions ?? {});
    }
    if (stopped) {
      outcome.stopped[id] = stopped;
      continue;
    }
    const binding = cluster.bindings.find(
      (b) => b.metadata.namespace === ns && b.metadata.name === trigger.spec.bindings[0].ref,
    );
    const template = cluster.templates.find(
      (t) => t.metadata.namespace === ns && t.metadata.name === trigger.spec.template.ref,
    );
    if (!binding || !template) {
      outcome.stopped[id] = "binding or template not found in the Trigger's namespace";
      continue;
    }
    let runs: PipelineRunTemplate[];
    try {
      runs = instantiate(binding, template, delivery.body, extensions);
    } catch (error) {
      if (!(error instanceof CelError)) throw error;
      outcome.stopped[id] = `binding: ${error.message}`;
      continue;
    }
    for (const run of runs) {
      const namespace = (run.metadata as { namespace?: string }).namespace || ns;
      if (!listenerMay(cluster, "create", "tekton.dev", "pipelineruns", namespace)) {
        outcome.stopped[id] = `forbidden: create pipelineruns in ${namespace}`;
        continue;
      }
      outcome.created.push({ namespace, trigger: id, run });
    }
  }
  return outcome;
}
