// The rehearsal's GitLab side of a push: the objects the program registers, split into what the
// Tekton emulator runs (per namespace) and what the shared EventListener's sink reads, and
// GitLab's push delivery handed to the sink model (tests/harness/sharedListener.ts, Triggers
// v0.37.0). Pure: tests/rehearsal/delivery.test.ts runs it in `npm test`.
import * as fs from "node:fs";
import * as path from "node:path";
import { Cluster as ListenerCluster, deliver, Outcome } from "../harness/sharedListener";
import { pushPayload as documentedPush, pushHeaders } from "../listener/helpers";
import { Cluster } from "./runner";

function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** A GitLab project hook as registered: whose pushes it posts, and with what token. */
export interface Hook {
  project: string;
  token: string;
  branchFilter: string;
}

/** Everything the program registered that the emulator, the listener and the "GitLab" need. */
export function clusterOf(resources: { type: string; inputs: any }[]): {
  /** The emulator's objects per namespace: a PipelineRun sees only its own namespace's. */
  clusters: Record<string, Cluster>;
  /** What the shared EventListener's sink reads (tests/harness/sharedListener.ts). */
  listener: ListenerCluster;
  hooks: Hook[];
  deployKeys: { project: string; key: string; canPush: boolean }[];
} {
  const ofType = (kind: string) =>
    resources.filter((r) => r.type === `kubernetes:${kind}`).map((r) => r.inputs);
  const inNamespace = (kind: string, namespace: string) =>
    Object.fromEntries(
      ofType(kind)
        .filter((o) => o.metadata.namespace === namespace)
        .map((o) => [o.metadata.name, o]),
    );
  const namespaces = new Set(
    ofType("tekton.dev/v1:Pipeline").map((p) => p.metadata.namespace as string),
  );
  const clusters = Object.fromEntries(
    [...namespaces].map((ns) => [
      ns,
      {
        tasks: inNamespace("tekton.dev/v1:Task", ns),
        pipelines: inNamespace("tekton.dev/v1:Pipeline", ns),
        serviceAccounts: inNamespace("core/v1:ServiceAccount", ns),
        secrets: inNamespace("core/v1:Secret", ns),
        configMaps: inNamespace("core/v1:ConfigMap", ns),
      },
    ]),
  );
  const listeners = ofType("triggers.tekton.dev/v1beta1:EventListener");
  expect(listeners.length === 1, `expected one EventListener, got ${listeners.length}`);
  const rbac = "rbac.authorization.k8s.io/v1";
  return {
    clusters,
    listener: {
      listener: listeners[0],
      triggers: ofType("triggers.tekton.dev/v1beta1:Trigger"),
      bindings: ofType("triggers.tekton.dev/v1beta1:TriggerBinding"),
      templates: ofType("triggers.tekton.dev/v1beta1:TriggerTemplate"),
      secrets: Object.fromEntries(
        ofType("core/v1:Secret").map((s) => [
          `${s.metadata.namespace}/${s.metadata.name}`,
          { ...(s.stringData ?? {}) },
        ]),
      ),
      roles: ofType(`${rbac}:Role`),
      roleBindings: ofType(`${rbac}:RoleBinding`),
    },
    hooks: resources
      .filter((r) => r.type === "pulumi-nodejs:dynamic/gitlab:ProjectHook")
      .map((r) => ({
        project: r.inputs.project,
        token: r.inputs.token,
        branchFilter: r.inputs.pushEventsBranchFilter,
      })),
    deployKeys: resources
      .filter((r) => r.type.startsWith("pulumi-nodejs:") && typeof r.inputs.key === "string")
      .map((r) => ({
        project: r.inputs.project,
        key: r.inputs.key,
        canPush: r.inputs.canPush === true,
      })),
  };
}

/** GitLab's documented push payload (the fixture of tests/triggers), for this push. */
export function pushPayload(project: string, ref: string, before: string, sha: string): any {
  const body = documentedPush();

  body.ref = ref;
  body.before = before;
  body.after = sha;
  body.checkout_sha = sha;
  body.project.path_with_namespace = project;
  body.project.name = project.split("/").pop();
  body.commits = [{ ...body.commits[body.commits.length - 1], id: sha }];
  body.total_commits_count = 1;
  return body;
}

/**
 * What GitLab posts for a push, handed to the shared listener's sink as registered: headers
 * `X-Gitlab-Event: Push Hook` and `X-Gitlab-Token` (the token GitLab's hook was registered
 * with, unless a scenario sends another). The hook's own branch filter is not applied: the
 * listener's Trigger must refuse other branches by itself.
 */
export function delivery(
  listener: ListenerCluster,
  push: { project: string; ref: string; before?: string; sha: string; token: string },
): Outcome {
  return deliver(listener, {
    headers: pushHeaders(push.token),
    body: pushPayload(push.project, push.ref, push.before ?? "0".repeat(40), push.sha),
  });
}

/**
 * A merge request as GitLab describes it in a hook: project `project` (id `projectId`), from
 * `sourceBranch` of `sourceProjectId` (the same project unless a fork's), at commit `sha`.
 */
export interface MergeRequest {
  project: string;
  projectId: number;
  iid: number;
  sourceBranch: string;
  targetBranch: string;
  sha: string;
  sourceProjectId?: number;
  state?: string;
}

/**
 * gitlabhq doc/user/project/integrations/webhook_events.md's example, the fixtures of
 * tests/mergeRequest (where they come from: tests/mergeRequest/helpers.ts), edited per event.
 */
function documented(name: string): any {
  const fixtures = path.join(__dirname, "..", "mergeRequest", "fixtures");
  return JSON.parse(fs.readFileSync(path.join(fixtures, name), "utf8"));
}

function describe(target: any, project: any, mr: MergeRequest): void {
  target.iid = mr.iid;
  target.source_branch = mr.sourceBranch;
  target.target_branch = mr.targetBranch;
  target.source_project_id = mr.sourceProjectId ?? mr.projectId;
  target.target_project_id = mr.projectId;
  target.state = mr.state ?? "opened";
  target.last_commit.id = mr.sha;
  project.id = mr.projectId;
  project.path_with_namespace = mr.project;
  project.name = mr.project.split("/").pop();
}

/**
 * GitLab's "Merge Request Hook" payload (webhook_events.md "Merge request events") for `action`;
 * `oldrev` only when the event carries new commits, as GitLab sends it.
 */
export function mergeRequestPayload(mr: MergeRequest, action: string, oldrev?: string): any {
  const body = documented("gitlab-merge-request.json");
  describe(body.object_attributes, body.project, mr);
  body.object_attributes.action = action;
  if (oldrev !== undefined) body.object_attributes.oldrev = oldrev;
  return body;
}

/** GitLab's "Note Hook" payload for a new comment on a merge request ("Comment on a merge request"). */
export function notePayload(mr: MergeRequest, note: string): any {
  const body = documented("gitlab-note-merge-request.json");
  describe(body.merge_request, body.project, mr);
  body.project_id = mr.projectId;
  body.object_attributes.project_id = mr.projectId;
  body.object_attributes.note = note;
  return body;
}

/** A merge request or note delivery with GitLab's headers and the hook's token. */
export function mergeRequestDelivery(
  listener: ListenerCluster,
  event: "Merge Request Hook" | "Note Hook",
  body: any,
  token: string,
): Outcome {
  return deliver(listener, {
    headers: { ...pushHeaders(token), "X-Gitlab-Event": event },
    body,
  });
}

export interface Started {
  namespace: string;
  run: any;
}

/** The one PipelineRun a delivery created, named as the API server names generateName. */
export function started(outcome: Outcome, namespace: string, pipeline: string): Started {
  const summary = `created ${JSON.stringify(outcome.created.map((c) => `${c.namespace}/${c.run.spec.pipelineRef.name}`))}, stopped ${JSON.stringify(outcome.stopped)}`;
  expect(outcome.created.length === 1, `expected one PipelineRun: ${summary}`);
  const [{ namespace: ns, run }] = outcome.created;
  expect(
    ns === namespace && run.spec.pipelineRef.name === pipeline,
    `expected ${namespace}/${pipeline}: ${summary}`,
  );
  const named: any = structuredClone(run);
  named.metadata.name = `${run.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
  named.metadata.namespace = ns;
  return { namespace: ns, run: named };
}
