// GitLab project webhook as a Pulumi dynamic resource, with @pulumi/gitlab's ProjectHook
// argument and output names so the official provider can replace it later.
import * as pulumi from "@pulumi/pulumi";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { randomBytes } from "node:crypto";
import { GitLabClient, ProjectHookRecord, ProjectHookRequest } from "./client";
import { adoptAfterLostCreate } from "./adopt";
import { isAmbiguousWrite, unlessGone } from "./errors";
import { GitLabProviderBase, GitLabProviderOptions } from "./providerConfig";
import { providerShim } from "./shim";
import {
  checkBoolean,
  checkProject,
  checkString,
  compact,
  formatId,
  isUnknown,
  parseId,
} from "./shared";

// What every ProjectHook hands to Pulumi: a forwarder that runs the project's current provider.ts
// (shim.ts says why).
const projectHookProvider = providerShim("ProjectHook");

export interface ProjectHookArgs {
  /** Project full path (`group/app`) or numeric id. Changing it replaces the hook. */
  project: pulumi.Input<string>;
  /** Where GitLab delivers events. Changing it replaces the hook (GitLab erases the token). */
  url: pulumi.Input<string>;
  /** Sent as `X-Gitlab-Token` with every delivery. Kept secret; GitLab never returns it. */
  token?: pulumi.Input<string>;
  /** Deliver push events (default true). */
  pushEvents?: pulumi.Input<boolean>;
  /** Only pushes to matching branches (wildcard or regex). */
  pushEventsBranchFilter?: pulumi.Input<string>;
  /** Verify the listener's TLS certificate (default true). */
  enableSslVerification?: pulumi.Input<boolean>;
  /** Deliver merge request events (default false). */
  mergeRequestsEvents?: pulumi.Input<boolean>;
  /**
   * Deliver note (comment) events (default false), for `/retest` on merge requests (issue 21).
   * GitLab's `note_events` (lib/api/project_hooks.rb `params :common_hook_parameters`;
   * ProjectHook's `triggerable_hooks` lists `:note_hooks`, which TriggerableHooks maps to
   * `note_events`); terraform-provider-gitlab's `note_events` (Optional, Default false,
   * internal/provider/resource_gitlab_project_hook.go), @pulumi/gitlab's `noteEvents`.
   */
  noteEvents?: pulumi.Input<boolean>;
  /** Deliver tag push events (default false). */
  tagPushEvents?: pulumi.Input<boolean>;
}

/** Inputs after `check` (defaults applied). */
export interface ProjectHookInputs {
  project: string;
  url: string;
  token?: string;
  pushEvents: boolean;
  pushEventsBranchFilter?: string;
  enableSslVerification: boolean;
  mergeRequestsEvents: boolean;
  noteEvents: boolean;
  tagPushEvents: boolean;
}

export interface ProjectHookOutputs extends ProjectHookInputs {
  hookId: number;
}

/** @pulumi/gitlab's defaults, applied in the program and again in `check`. */
export const PROJECT_HOOK_DEFAULTS = {
  pushEvents: true,
  enableSslVerification: true,
  mergeRequestsEvents: false,
  noteEvents: false,
  tagPushEvents: false,
} as const;

/** Fields GitLab can change in place (everything but project and url). */
const UPDATABLE = [
  "token",
  "pushEvents",
  "pushEventsBranchFilter",
  "enableSslVerification",
  "mergeRequestsEvents",
  "noteEvents",
  "tagPushEvents",
] as const;

function withDefaults<T extends Partial<ProjectHookInputs>>(value: T): T & ProjectHookInputs {
  return {
    ...value,
    pushEvents: value.pushEvents ?? PROJECT_HOOK_DEFAULTS.pushEvents,
    enableSslVerification:
      value.enableSslVerification ?? PROJECT_HOOK_DEFAULTS.enableSslVerification,
    mergeRequestsEvents: value.mergeRequestsEvents ?? PROJECT_HOOK_DEFAULTS.mergeRequestsEvents,
    // A state written before noteEvents existed has none: GitLab's default, so no diff.
    noteEvents: value.noteEvents ?? PROJECT_HOOK_DEFAULTS.noteEvents,
    tagPushEvents: value.tagPushEvents ?? PROJECT_HOOK_DEFAULTS.tagPushEvents,
  } as T & ProjectHookInputs;
}

/** Unset, null and "" all mean "no filter" (GitLab returns any of them). */
function filterOf(value: string | null | undefined): string {
  return value ?? "";
}

function tokenOf(value: string | undefined): string {
  return value ?? "";
}

/** A state (or inputs) written before issue 21 added `noteEvents`: it has none. */
export type WithoutNoteEvents<T extends { noteEvents: boolean }> = Omit<T, "noteEvents"> & {
  noteEvents?: boolean;
};

/** `url` and `project` replace (a URL change erases GitLab's copy of the token); the rest update. */
export function diffProjectHook(
  olds: WithoutNoteEvents<ProjectHookOutputs>,
  news: WithoutNoteEvents<ProjectHookInputs>,
): dynamic.DiffResult {
  const old = withDefaults(olds);
  const next = withDefaults(news);
  const replaces = (["project", "url"] as const).filter((field) => old[field] !== next[field]);
  const updates = UPDATABLE.filter((field) => {
    if (field === "pushEventsBranchFilter") {
      return filterOf(old.pushEventsBranchFilter) !== filterOf(next.pushEventsBranchFilter);
    }
    if (field === "token") return tokenOf(old.token) !== tokenOf(next.token);
    return old[field] !== next[field];
  });
  return { changes: replaces.length > 0 || updates.length > 0, replaces };
}

function requestFrom(inputs: ProjectHookInputs): ProjectHookRequest {
  const next = withDefaults(inputs);
  return {
    url: next.url,
    // Always sent, "" when unset: a PUT carrying `url` without `token` erases the token, and
    // "" is how a token removed from the program is removed from GitLab.
    token: tokenOf(next.token),
    push_events: next.pushEvents,
    push_events_branch_filter: filterOf(next.pushEventsBranchFilter),
    enable_ssl_verification: next.enableSslVerification,
    merge_requests_events: next.mergeRequestsEvents,
    note_events: next.noteEvents,
    tag_push_events: next.tagPushEvents,
  };
}

function outputsFrom(
  project: string,
  url: string,
  token: string | undefined,
  record: ProjectHookRecord,
  previous?: Partial<ProjectHookOutputs>,
): ProjectHookOutputs {
  const filter = filterOf(record.push_events_branch_filter);
  return compact({
    project,
    url,
    // Write-only in GitLab: whatever the state held (or the inputs sent) is all there is.
    token: token === undefined || token === "" ? undefined : token,
    pushEvents: record.push_events,
    pushEventsBranchFilter:
      filter === "" && previous?.pushEventsBranchFilter === undefined ? undefined : filter,
    enableSslVerification: record.enable_ssl_verification,
    mergeRequestsEvents: record.merge_requests_events,
    // A state from before issue 21 has none: while GitLab has the default, a refresh keeps it
    // that way and shows no change (diff reads a missing one as false).
    noteEvents:
      previous !== undefined && previous.noteEvents === undefined && !record.note_events
        ? undefined
        : record.note_events,
    tagPushEvents: record.tag_push_events,
    hookId: record.id,
  } as ProjectHookOutputs);
}

/**
 * How the provider marks the hooks it creates. GitLab 17.1 added `name` and `description` to
 * project hooks (doc/api/project_webhooks.md: "`name` and `description` attributes introduced in
 * GitLab 17.1"; columns from db/migrate AddNameAndDescriptionToWebHooks, milestone 16.9;
 * lib/api/entities/hook.rb exposes both). Older GitLab drops the unknown parameters.
 */
const HOOK_NAME = "Tekton (managed by Pulumi)";
const HOOK_DESCRIPTION = "Created by the tekton-gitlab Pulumi stack; do not edit by hand.";

/** The settings a hook was created with, to recognise it on GitLab before 17.1. */
function sameSettings(record: ProjectHookRecord, inputs: ProjectHookInputs): boolean {
  const want = requestFrom(inputs);
  return (
    record.url === want.url &&
    record.push_events === want.push_events &&
    filterOf(record.push_events_branch_filter) === want.push_events_branch_filter &&
    record.enable_ssl_verification === want.enable_ssl_verification &&
    record.merge_requests_events === want.merge_requests_events &&
    record.note_events === want.note_events &&
    record.tag_push_events === want.tag_push_events
  );
}

export class ProjectHookProvider extends GitLabProviderBase implements dynamic.ResourceProvider {
  /**
   * After a POST whose answer was lost (dropped connection, 5xx, redirect, not JSON): lists the
   * project's hooks and returns the one this create made, or throws saying what GitLab did.
   * GitLab 17.1+ returns `description`, which carries this create's random marker, so a hook
   * someone else made with the same URL is never adopted. Older GitLab returns neither field:
   * then exactly one hook with the same URL and settings is adopted (and the log says so);
   * with two or more the provider refuses to guess.
   */
  private findCreated(
    client: GitLabClient,
    inputs: ProjectHookInputs,
    marker: string,
    original: Error,
  ): Promise<ProjectHookRecord> {
    return adoptAfterLostCreate(original, {
      what: "hook",
      project: inputs.project,
      list: () => client.listHooks(inputs.project),
      where: `project "${inputs.project}" > Settings > Webhooks (hooks for ${inputs.url})`,
      pick: (listed, outcome) => {
        const marked = listed.filter((hook) => "description" in hook);
        if (marked.length > 0) {
          const ours = listed.filter((hook) => (hook.description ?? "").includes(marker));
          if (ours.length === 1) return ours[0];
          if (ours.length === 0) {
            throw outcome.notCreated(
              `listed afterwards, no hook carries this create's marker (${marker})`,
            );
          }
        }
        const candidates = listed.filter((hook) => sameSettings(hook, inputs));
        if (candidates.length === 0) {
          throw outcome.notCreated("listed afterwards, no hook has this URL and settings");
        }
        if (candidates.length === 1) {
          this.note(
            `GitLab POST /projects/${inputs.project}/hooks got no usable answer; this GitLab ` +
              `returns no name/description (before 17.1), so the one hook with the same URL and ` +
              `settings was taken as the one just created: adopted hook ${candidates[0].id}.`,
          );
          return candidates[0];
        }
        throw outcome.mayExist(
          `${candidates.length} hooks (ids ${candidates.map((h) => h.id).join(", ")}) have this ` +
            "URL and settings and this GitLab (before 17.1) has no name/description to tell " +
            "which one this create made.",
        );
      },
    });
  }

  constructor(options?: GitLabProviderOptions) {
    super(options);
  }

  async check(_olds: unknown, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
    const failures: dynamic.CheckFailure[] = [];
    checkProject(news.project, failures);
    checkString("url", news.url, failures, true);
    if (typeof news.url === "string" && news.url.trim() !== "" && !isUnknown(news.url)) {
      let parsed: URL | undefined;
      try {
        parsed = new URL(news.url);
      } catch {
        parsed = undefined;
      }
      if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
        failures.push({
          property: "url",
          reason: `url must be an absolute http(s) URL; got ${JSON.stringify(news.url)}.`,
        });
      }
    }
    checkString("token", news.token, failures, false);
    checkString("pushEventsBranchFilter", news.pushEventsBranchFilter, failures, false);
    for (const field of Object.keys(PROJECT_HOOK_DEFAULTS)) {
      checkBoolean(field, news[field], failures);
    }
    return { inputs: compact(withDefaults(news as Partial<ProjectHookInputs>)), failures };
  }

  async diff(
    _id: string,
    olds: WithoutNoteEvents<ProjectHookOutputs>,
    news: WithoutNoteEvents<ProjectHookInputs>,
  ): Promise<dynamic.DiffResult> {
    return diffProjectHook(olds, news);
  }

  async create(inputs: ProjectHookInputs): Promise<dynamic.CreateResult<ProjectHookOutputs>> {
    const client = this.client();
    const marker = `pulumi-create-${randomBytes(8).toString("hex")}`;
    const request: ProjectHookRequest = {
      ...requestFrom(inputs),
      name: HOOK_NAME,
      description: `${HOOK_DESCRIPTION} ${marker}`,
    };
    let record: ProjectHookRecord;
    try {
      // Never retried on a server error or a lost answer (a retried POST could leave two
      // hooks): after an ambiguous answer GitLab is asked what it did instead.
      record = await client.createHook(inputs.project, request);
    } catch (error) {
      if (!isAmbiguousWrite(error)) throw error;
      record = await this.findCreated(client, inputs, marker, error as Error);
    }
    return {
      id: formatId(inputs.project, record.id),
      outs: outputsFrom(inputs.project, inputs.url, inputs.token, record, inputs),
    };
  }

  async read(
    id: string,
    props?: WithoutNoteEvents<ProjectHookOutputs>,
  ): Promise<dynamic.ReadResult<ProjectHookOutputs>> {
    const { project, id: hookId } = parseId(id, "ProjectHook");
    const record = await unlessGone(() => this.client().getHook(project, hookId));
    // Removed by hand: an empty id drops it from the state; a missing project throws.
    if (record === undefined) return { id: "" };
    // The URL as GitLab has it: a URL changed by hand shows up as a replacement on the next up.
    const outs = outputsFrom(props?.project ?? project, record.url, props?.token, record, props);
    return { id, props: outs };
  }

  async update(
    id: string,
    _olds: WithoutNoteEvents<ProjectHookOutputs>,
    news: ProjectHookInputs,
  ): Promise<dynamic.UpdateResult<ProjectHookOutputs>> {
    const { project, id: hookId } = parseId(id, "ProjectHook");
    const record = await this.client().updateHook(project, hookId, requestFrom(news));
    return { outs: outputsFrom(news.project, news.url, news.token, record, news) };
  }

  async delete(id: string): Promise<void> {
    const { project, id: hookId } = parseId(id, "ProjectHook");
    await unlessGone(() => this.client().deleteHook(project, hookId));
  }
}

/**
 * A webhook on a GitLab project (type `pulumi-nodejs:dynamic/gitlab:ProjectHook`, id
 * `<project>:<hook id>`). The token is a secret in inputs, outputs and state.
 */
export class ProjectHook extends pulumi.dynamic.Resource {
  // `declare`: a class field would be re-initialised to undefined after super() sets it.
  declare readonly project: pulumi.Output<string>;
  declare readonly url: pulumi.Output<string>;
  declare readonly token: pulumi.Output<string | undefined>;
  declare readonly pushEvents: pulumi.Output<boolean>;
  declare readonly pushEventsBranchFilter: pulumi.Output<string | undefined>;
  declare readonly enableSslVerification: pulumi.Output<boolean>;
  declare readonly mergeRequestsEvents: pulumi.Output<boolean>;
  /** Absent for a hook created before issue 21 until something updates it (GitLab has false). */
  declare readonly noteEvents: pulumi.Output<boolean | undefined>;
  declare readonly tagPushEvents: pulumi.Output<boolean>;
  /** GitLab's numeric id of the hook. */
  declare readonly hookId: pulumi.Output<number>;

  constructor(name: string, args: ProjectHookArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      projectHookProvider,
      name,
      {
        project: args.project,
        url: args.url,
        token: args.token === undefined ? undefined : pulumi.secret(args.token),
        pushEvents: args.pushEvents ?? PROJECT_HOOK_DEFAULTS.pushEvents,
        pushEventsBranchFilter: args.pushEventsBranchFilter,
        enableSslVerification:
          args.enableSslVerification ?? PROJECT_HOOK_DEFAULTS.enableSslVerification,
        mergeRequestsEvents: args.mergeRequestsEvents ?? PROJECT_HOOK_DEFAULTS.mergeRequestsEvents,
        // Registered only when given (`check` applies the default): the inputs of every hook
        // that does not ask for comments stay exactly as they were before issue 21.
        noteEvents: args.noteEvents,
        tagPushEvents: args.tagPushEvents ?? PROJECT_HOOK_DEFAULTS.tagPushEvents,
        hookId: undefined,
      },
      // The engine would mark the output secret because the input is; this says it outright.
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["token"] }),
      "gitlab",
      "ProjectHook",
    );
  }
}
