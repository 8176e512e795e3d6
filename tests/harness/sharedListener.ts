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
//  - cel: the filter must be true (an error, e.g. a missing field, stops like false); overlays
//    become extensions;
//  - `processTrigger` resolves the binding and template in the Trigger's namespace
//    (`TriggerBindings(t.Namespace)`, `TriggerTemplates(t.Namespace)`) and `CreateResources`
//    creates each resource in its template namespace or else the Trigger's
//    (pkg/resources/create.go `Create`), as the listener's ServiceAccount (RBAC checked here).
// The push Trigger's CEL forms are read by hand; any other term or overlay (a merge request
// Trigger's: has(), type(x) == double, int(), in, trim()) is evaluated by @marcbachmann/cel-js
// with Triggers' `truncate` added, and a CEL error stops the Trigger as Triggers does.
import * as assert from "node:assert/strict";
import { Environment } from "@marcbachmann/cel-js";
import { AppConfig, ValidatedConfig } from "../../config/schema";
import { buildContext } from "../../tekton/build/context";
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
 * Trigger, binding, template, Role and RoleBinding as the builders render them, and each app's
 * webhook Secret holding `tokenOf(app)`.
 */
export function renderedCluster(
  config: ValidatedConfig,
  tokenOf: (app: AppConfig) => string,
): Cluster {
  const ctx = buildContext(config);
  const perApp = config.apps.map((app) => triggerObjects(app, ctx, config.listener));
  return {
    listener: sharedEventListener(config.listener, config.apps),
    triggers: perApp.map((o) => o.trigger),
    bindings: perApp.map((o) => o.binding),
    templates: perApp.map((o) => o.template),
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

class CelError extends Error {}

/** A field path on the body; a missing key is a CEL error ("no such key"). */
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

/** Reads a CEL single-quoted literal as tekton/listener/triggers.ts `celStringLiteral` writes it. */
function literal(text: string): string {
  const match = /^'((?:[^'\\]|\\.)*)'$/.exec(text);
  assert.ok(match, `unsupported CEL literal ${text}`);
  return match[1].replace(/\\(u[0-9a-f]{4}|U[0-9a-f]{8}|.)/g, (_, esc: string) =>
    esc.length > 1 ? String.fromCodePoint(parseInt(esc.slice(1), 16)) : esc,
  );
}

/**
 * Triggers v0.37.0 pkg/interceptors/cel/triggers.go `truncateString` (`<string>.truncate(n)`)
 * beside the standard library; `body` is the JSON body, numbers as doubles.
 */
const triggersCel = new Environment({ unlistedVariablesAreDyn: true }).registerFunction(
  "string.truncate(int): string",
  (text: string, length: bigint) => text.slice(0, Number(length)),
);

function celValue(expression: string, body: any): unknown {
  try {
    return triggersCel.evaluate(expression, { body });
  } catch (error) {
    throw new CelError((error as Error).message.split("\n")[0]);
  }
}

/** The conjunction of CEL terms the stack writes (`a && b && ...`). */
export function evaluateFilter(filter: string, body: any): boolean {
  // Split on && outside literals and parentheses.
  const terms: string[] = [];
  let current = "";
  let quoted = false;
  let depth = 0;
  for (let i = 0; i < filter.length; i++) {
    const char = filter[i];
    if (char === "\\" && quoted) {
      current += char + filter[++i];
      continue;
    }
    if (char === "'") quoted = !quoted;
    if (!quoted && char === "(") depth += 1;
    if (!quoted && char === ")") depth -= 1;
    if (!quoted && depth === 0 && filter.startsWith(" && ", i)) {
      terms.push(current);
      current = "";
      i += 3;
      continue;
    }
    current += char;
  }
  terms.push(current);
  for (const term of terms) {
    let match: RegExpExecArray | null;
    if ((match = /^body\.([A-Za-z0-9_.]+) == ('.*')$/.exec(term))) {
      if (field(body, match[1]) !== literal(match[2])) return false;
    } else if ((match = /^type\(body\.([A-Za-z0-9_.]+)\) == string$/.exec(term))) {
      if (typeof field(body, match[1]) !== "string") return false;
    } else if ((match = /^body\.([A-Za-z0-9_.]+)\.matches\(('.*')\)$/.exec(term))) {
      const value = field(body, match[1]);
      if (typeof value !== "string") throw new CelError("matches on a non-string");
      if (!new RegExp(literal(match[2])).test(value)) return false;
    } else {
      const value = celValue(term, body);
      assert.equal(typeof value, "boolean", `CEL term ${term} is not a condition`);
      if (!value) return false;
    }
  }
  return true;
}

function overlays(param: unknown, body: any): Record<string, string> {
  const list = (param ?? []) as { key: string; expression: string }[];
  return Object.fromEntries(
    list.map(({ key, expression }) => {
      const match = /^body\.([A-Za-z0-9_.]+)\.truncate\((\d+)\)$/.exec(expression);
      if (!match) return [key, String(celValue(expression, body))];
      return [key, String(field(body, match[1])).slice(0, Number(match[2]))];
    }),
  );
}

type Step =
  { continue: true; extensions?: Record<string, string> } | { continue: false; why: string };

function runInterceptor(
  interceptor: TriggerInterceptor,
  delivery: Delivery,
  triggerId: string,
  cluster: Cluster,
): Step {
  const params = Object.fromEntries(interceptor.params.map((p) => [p.name, p.value]));
  const header = (name: string) =>
    Object.entries(delivery.headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ??
    "";
  if (interceptor.ref.name === "cel") {
    try {
      if (!evaluateFilter(String(params.filter), delivery.body)) {
        return { continue: false, why: "cel: filter false" };
      }
      return { continue: true, extensions: overlays(params.overlays, delivery.body) };
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

/** Substitutes `$(body.x)` / `$(extensions.x)` and then `$(tt.params.x)` like Triggers does. */
function instantiate(
  binding: TriggerBinding,
  template: TriggerTemplate,
  body: any,
  extensions: Record<string, string>,
): PipelineRunTemplate[] {
  const params = Object.fromEntries(
    binding.spec.params.map((param) => {
      const ext = /^\$\(extensions\.([A-Za-z0-9_]+)\)$/.exec(param.value);
      if (ext) {
        assert.ok(ext[1] in extensions, `no extension ${ext[1]}`);
        return [param.name, extensions[ext[1]]];
      }
      const path = /^\$\(body\.([A-Za-z0-9_.]+)\)$/.exec(param.value);
      assert.ok(path, `unsupported binding expression ${param.value}`);
      const value = field(body, path[1]);
      return [param.name, typeof value === "string" ? value : JSON.stringify(value)];
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
    const extensions: Record<string, string> = {};
    let stopped: string | undefined;
    for (const interceptor of trigger.spec.interceptors) {
      outcome.calls[interceptor.ref.name] = (outcome.calls[interceptor.ref.name] ?? 0) + 1;
      const step = runInterceptor(interceptor, delivery, triggerId, cluster);
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
    for (const run of instantiate(binding, template, delivery.body, extensions)) {
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
