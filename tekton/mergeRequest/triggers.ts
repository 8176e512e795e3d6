// Which GitLab events start a merge request build, and the run they start: two Triggers (merge
// request events, and `/retest` comments) on the shared listener, each behind the same token
// check as the push Trigger, and one TriggerTemplate. Every decision is in the Triggers' CEL
// filters, so an event that must not build never creates a PipelineRun.
//
// Payloads, as GitLab documents them (gitlabhq doc/user/project/integrations/webhook_events.md,
// "Merge request events" and "Comment on a merge request"): a merge request event carries the
// merge request in `object_attributes` (`iid`, `action`, `state`, `oldrev` only when commits were
// added, `source_project_id`, `target_project_id`, `source_branch`, `last_commit.id`) and the
// project whose hook fired (the target project) in `project`; a comment event carries the note
// in `object_attributes` (`note`, `noteable_type`, `action` create or update since GitLab 16.11)
// and the merge request, with the same fields, in `merge_request`. gitlabhq
// app/services/merge_requests/base_service.rb: `execute_hooks` fires the hooks of
// `merge_request.project`, the target project, and `hook_data` sets `oldrev` only when it is not
// blank; `commit_status_merge_requests` finds the merge requests of a commit status by
// `source_branch == status.ref`, so the status is posted with the source branch as its ref.
import { AppConfig, ListenerConfig } from "../../config/schema";
import { appLabels, PIPELINE_PARAMS, RUN_METADATA, sshCloneUrl, WORKSPACES } from "../core/names";
import {
  PipelineRunTemplate,
  Trigger,
  TriggerBinding,
  TriggerTemplate,
} from "../core/triggerTypes";
import { runTimeouts } from "../core/timeouts";
import { cancelTaskRunSpecs } from "../cancel/cancelTask";
import { STATUS_PIPELINE_TASKS } from "../status/statusTasks";
import {
  celStringLiteral,
  dockerConfigBinding,
  gitlabTrigger,
  pipelineRunWorkspaces,
  runTaskRunTemplate,
  TriggerContext,
} from "../listener/triggers";
import {
  MERGE_REQUEST_PARAMS,
  mergeRequestPipelineName,
  mergeRequestWorkspaces,
  STATUS_READER_SERVICE_ACCOUNT,
} from "./pipeline";
import { MERGE_REQUEST_LABEL } from "./runs";

/** `X-Gitlab-Event` of a merge request event and of a comment (webhook_events.md). */
export const MERGE_REQUEST_EVENT_TYPE = "Merge Request Hook";
export const NOTE_EVENT_TYPE = "Note Hook";

/** Names of an app's merge request trigger objects, in its build namespace. */
export function mergeRequestTriggerNames(app: Pick<AppConfig, "name">) {
  return {
    template: `${app.name}-merge-request-pipelinerun`,
    mergeRequest: {
      binding: `${app.name}-merge-request`,
      trigger: `${app.name}-gitlab-merge-request`,
    },
    note: { binding: `${app.name}-merge-request-note`, trigger: `${app.name}-gitlab-note` },
  };
}

/** Params the bindings extract and the TriggerTemplate declares. */
export const MERGE_REQUEST_TRIGGER_PARAMS = {
  revision: "revision",
  iid: "merge-request-iid",
  sourceBranch: "source-branch",
  commitLabel: "commit-label",
} as const;

const FULL_COMMIT = "'^([0-9a-f]{40}|[0-9a-f]{64})$'";

/**
 * What both filters ask of the merge request (`mr`: where the event carries it): from a branch
 * of this very project (`source_project_id == target_project_id`: a fork's merge request starts
 * nothing, so no pod ever holds a credential for code from outside the project), into the
 * project whose hook fired, open, with a full commit id and a whole, positive iid. JSON numbers
 * are CEL doubles here (Triggers v0.37.0 pkg/interceptors/cel/cel.go `makeEvalContext` unmarshals
 * the body into map[string]interface{}: float64).
 */
function mergeRequestTerms(mr: string): string[] {
  return [
    `${mr}.source_project_id == ${mr}.target_project_id`,
    `${mr}.target_project_id == body.project.id`,
    `${mr}.state == 'opened'`,
    `type(${mr}.last_commit.id) == string`,
    `${mr}.last_commit.id.matches(${FULL_COMMIT})`,
    `type(${mr}.iid) == double`,
    `${mr}.iid >= 1.0`,
    `${mr}.iid <= 2147483647.0`,
    `double(int(${mr}.iid)) == ${mr}.iid`,
  ];
}

/**
 * Every GitLab payload names its kind (`object_kind`: push, merge_request, note). Asked first,
 * it makes the filter plainly false for another event of the same project (cel-go's && is false
 * when one side is, whatever the other), where a missing field would be an evaluation error the
 * listener logs for every push.
 */
const KIND_TERM = {
  mergeRequest: "body.object_kind == 'merge_request'",
  note: "body.object_kind == 'note'",
} as const;

const projectTerm = (app: Pick<AppConfig, "sourceProject">) =>
  `body.project.path_with_namespace == ${celStringLiteral(app.sourceProject)}`;

/**
 * A merge request event builds when the merge request is opened or reopened, or updated with new
 * commits (`oldrev` is present only then: webhook_events.md "The field object_attributes.oldrev
 * is only available when there are actual code changes"). Label, title and description edits,
 * approvals, closes and merges do not.
 */
export function mergeRequestFilter(app: Pick<AppConfig, "sourceProject">): string {
  const mr = "body.object_attributes";
  return [
    projectTerm(app),
    KIND_TERM.mergeRequest,
    ...mergeRequestTerms(mr),
    `(${mr}.action in ['open', 'reopen'] || (${mr}.action == 'update' && has(${mr}.oldrev)))`,
  ].join(" && ");
}

/**
 * A comment builds the merge request's current head when it is a new comment (not an edit:
 * `action` is `create`, or absent before GitLab 16.11) on a merge request whose text, trimmed
 * (cel-go ext `strings.trim`, which Triggers loads: cel.go `makeCelEnv` `celext.Strings()`), is
 * exactly the retest comment.
 */
export function noteFilter(app: Pick<AppConfig, "sourceProject" | "mergeRequests">): string {
  const note = "body.object_attributes";
  return [
    projectTerm(app),
    KIND_TERM.note,
    `${note}.noteable_type == 'MergeRequest'`,
    `(!has(${note}.action) || ${note}.action == 'create')`,
    `type(${note}.note) == string`,
    `${note}.note.trim() == ${celStringLiteral(app.mergeRequests.retestComment)}`,
    ...mergeRequestTerms("body.merge_request"),
  ].join(" && ");
}

/**
 * CEL overlays: the commit as a label value (as the push Trigger's) and the iid as an integer's
 * text ("12", where the JSON number would be rendered as a double's).
 */
function overlays(mr: string) {
  return [
    { key: "commit_label", expression: `${mr}.last_commit.id.truncate(40)` },
    { key: "merge_request_iid", expression: `string(int(${mr}.iid))` },
  ];
}

function binding(app: AppConfig, name: string, mr: string): TriggerBinding {
  return {
    apiVersion: "triggers.tekton.dev/v1beta1",
    kind: "TriggerBinding",
    metadata: { name, namespace: app.namespace, labels: appLabels(app) },
    spec: {
      // Strings from the body reach the template JSON-escaped (Triggers v0.37.0
      // pkg/template/jsonpath.go `ParseJSONPath`: json.Marshal, quotes stripped): the source
      // branch cannot leave its JSON string. The clone URL comes from config, never the body.
      params: [
        { name: MERGE_REQUEST_TRIGGER_PARAMS.revision, value: `$(${mr}.last_commit.id)` },
        { name: MERGE_REQUEST_TRIGGER_PARAMS.iid, value: "$(extensions.merge_request_iid)" },
        { name: MERGE_REQUEST_TRIGGER_PARAMS.sourceBranch, value: `$(${mr}.source_branch)` },
        { name: MERGE_REQUEST_TRIGGER_PARAMS.commitLabel, value: "$(extensions.commit_label)" },
      ],
    },
  };
}

/** The PipelineRun a merge request event or a `/retest` creates, `$(tt.params.*)` unresolved. */
export function mergeRequestRunTemplate(app: AppConfig, ctx: TriggerContext): PipelineRunTemplate {
  const tt = (name: string) => `$(tt.params.${name})`;
  // The Pipeline's workspaces (mergeRequestWorkspaces), each bound as the push build binds it but
  // `docker-config` (declared only with `mergeRequests.registrySecretName`): to that Secret,
  // never to the push build's.
  const pushBindings = pipelineRunWorkspaces(app, ctx);
  const workspaces = mergeRequestWorkspaces(ctx, app).map((name) =>
    name === WORKSPACES.dockerConfig
      ? dockerConfigBinding(app.mergeRequests.registrySecretName!)
      : pushBindings.find((w) => w.name === name)!,
  );
  // The build task keeps tekton-build, whose ServiceAccount lists nothing: not tekton-build-push,
  // whose imagePullSecrets Tekton Chains would push a signature with.
  const taskRunSpecs = [
    ...cancelTaskRunSpecs(app),
    ...(app.statusReporting.enabled
      ? [
          {
            pipelineTaskName: STATUS_PIPELINE_TASKS.result,
            serviceAccountName: STATUS_READER_SERVICE_ACCOUNT,
          },
        ]
      : []),
  ];
  return {
    apiVersion: "tekton.dev/v1",
    kind: "PipelineRun",
    metadata: {
      generateName: `${mergeRequestPipelineName(app)}-`,
      labels: {
        ...appLabels(app),
        [RUN_METADATA.commitLabel]: tt(MERGE_REQUEST_TRIGGER_PARAMS.commitLabel),
        [MERGE_REQUEST_LABEL]: tt(MERGE_REQUEST_TRIGGER_PARAMS.iid),
      },
      annotations: {
        // The cancel task compares it between runs of the same merge request.
        [RUN_METADATA.branchAnnotation]: tt(MERGE_REQUEST_TRIGGER_PARAMS.sourceBranch),
        [RUN_METADATA.refAnnotation]: `refs/merge-requests/${tt(MERGE_REQUEST_TRIGGER_PARAMS.iid)}/head`,
        [RUN_METADATA.projectAnnotation]: app.sourceProject,
      },
    },
    spec: {
      pipelineRef: { name: mergeRequestPipelineName(app) },
      params: [
        { name: PIPELINE_PARAMS.sourceUrl, value: sshCloneUrl(ctx.gitSsh, app.sourceProject) },
        { name: PIPELINE_PARAMS.revision, value: tt(MERGE_REQUEST_TRIGGER_PARAMS.revision) },
        { name: MERGE_REQUEST_PARAMS.iid, value: tt(MERGE_REQUEST_TRIGGER_PARAMS.iid) },
        {
          name: MERGE_REQUEST_PARAMS.sourceBranch,
          value: tt(MERGE_REQUEST_TRIGGER_PARAMS.sourceBranch),
        },
      ],
      workspaces,
      taskRunTemplate: runTaskRunTemplate(),
      ...(taskRunSpecs.length > 0 ? { taskRunSpecs } : {}),
      timeouts: runTimeouts(app),
    },
  };
}

export function mergeRequestTriggerTemplate(app: AppConfig, ctx: TriggerContext): TriggerTemplate {
  return {
    apiVersion: "triggers.tekton.dev/v1beta1",
    kind: "TriggerTemplate",
    metadata: {
      name: mergeRequestTriggerNames(app).template,
      namespace: app.namespace,
      labels: appLabels(app),
    },
    spec: {
      params: [
        { name: MERGE_REQUEST_TRIGGER_PARAMS.revision, description: "The merge request's head" },
        { name: MERGE_REQUEST_TRIGGER_PARAMS.iid, description: "The merge request's iid" },
        {
          name: MERGE_REQUEST_TRIGGER_PARAMS.sourceBranch,
          description: "The merge request's source branch",
        },
        {
          name: MERGE_REQUEST_TRIGGER_PARAMS.commitLabel,
          description: "The commit as a label value (at most 40 characters)",
        },
      ],
      resourcetemplates: [mergeRequestRunTemplate(app, ctx)],
    },
  };
}

/** An app's merge request Triggers objects; none without `mergeRequests.build`. */
export interface MergeRequestTriggerObjects {
  template: TriggerTemplate;
  bindings: TriggerBinding[];
  triggers: Trigger[];
}

export function mergeRequestTriggerObjects(
  app: AppConfig,
  ctx: TriggerContext,
  listener: Pick<ListenerConfig, "namespace">,
): MergeRequestTriggerObjects | undefined {
  if (!app.mergeRequests.build) return undefined;
  const names = mergeRequestTriggerNames(app);
  const events = [
    {
      names: names.mergeRequest,
      mr: "body.object_attributes",
      filter: mergeRequestFilter(app),
      type: MERGE_REQUEST_EVENT_TYPE,
    },
    {
      names: names.note,
      mr: "body.merge_request",
      filter: noteFilter(app),
      type: NOTE_EVENT_TYPE,
    },
  ];
  return {
    template: mergeRequestTriggerTemplate(app, ctx),
    bindings: events.map((e) => binding(app, e.names.binding, e.mr)),
    // The push Trigger's order and reasons (tekton/listener/triggers.ts `appTrigger`): the
    // cheap filter first, then the token, read from this app's namespace.
    triggers: events.map((e) =>
      gitlabTrigger(app, listener, {
        name: e.names.trigger,
        filterName: "only-this-project-and-event",
        filter: e.filter,
        overlays: overlays(e.mr),
        eventType: e.type,
        binding: e.names.binding,
        template: names.template,
      }),
    ),
  };
}
