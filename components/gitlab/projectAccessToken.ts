// GitLab project access token as a Pulumi dynamic resource, with @pulumi/gitlab's
// ProjectAccessToken argument and output names so the official provider can replace it later.
//
// GitLab (lib/api/resource_access_tokens.rb): POST :id/access_tokens creates the token and is the
// only answer, with a rotate, that carries its value (Entities::ResourceAccessTokenWithToken);
// GET lists them with `name`, `active`, `revoked` (and `description` only since 17.7); POST
// :id/access_tokens/:token_id/rotate revokes the token and creates a new one with a new id and
// the same name, description and scopes in one transaction
// (app/services/personal_access_tokens/rotate_service.rb `execute`, `create_token_params`);
// DELETE revokes it (app/services/resource_access_tokens/revoke_service.rb, which also schedules
// the bot user for deletion). Rotating a token that is already revoked fails ("Token already
// revoked") and GitLab's reuse detection revokes the active tokens of its family, so the provider
// never rotates a token it has not just seen active.
import * as pulumi from "@pulumi/pulumi";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { randomBytes } from "node:crypto";
import { adoptAfterLostCreate } from "./adopt";
import { GitLabClient, ProjectAccessTokenRecord, ProjectAccessTokenWithToken } from "./client";
import {
  isAmbiguousWrite,
  isGone,
  listAfterWrite,
  partiallyCreated,
  unlessGone,
  withoutHint,
  writeMayExistError,
} from "./errors";
import { GitLabProviderBase, GitLabProviderOptions } from "./providerConfig";
import { providerShim } from "./shim";
import { checkProject, checkString, compact, formatId, isUnknown, parseId } from "./shared";

// What every ProjectAccessToken hands to Pulumi: a forwarder that runs the project's current provider.ts
// (shim.ts says why).
const projectAccessTokenProvider = providerShim("ProjectAccessToken");

/** @pulumi/gitlab's access level names and GitLab's numbers (lib/gitlab/access.rb). */
export const ACCESS_LEVELS = {
  guest: 10,
  planner: 15,
  reporter: 20,
  developer: 30,
  maintainer: 40,
  owner: 50,
} as const;
export type AccessLevelName = keyof typeof ACCESS_LEVELS;

/**
 * GitLab's longest lifetime of an access token
 * (app/models/personal_access_token.rb MAX_PERSONAL_ACCESS_TOKEN_LIFETIME_IN_DAYS = 365,
 * enforced by `expires_at_before_instance_max_expiry_date`; an instance may set less).
 */
export const MAX_TOKEN_LIFETIME_DAYS = 365;

const DAY_MS = 86_400_000;

export interface RotationConfiguration {
  /** Lifetime of each token, in days, counted from the day it is created or rotated. */
  expirationDays: number;
  /** Rotate on the first `pulumi up` this many days (or fewer) before the token expires. */
  rotateBeforeDays: number;
}

export interface ProjectAccessTokenArgs {
  /** Project full path (`group/app`) or numeric id. Changing it replaces the token. */
  project: pulumi.Input<string>;
  /** Name shown in GitLab. Changing it replaces the token. */
  name: pulumi.Input<string>;
  /** GitLab scopes, e.g. `["api"]`. Changing them replaces the token. */
  scopes: pulumi.Input<pulumi.Input<string>[]>;
  /** Role of the token's bot user in the project (default `maintainer`, as GitLab's). */
  accessLevel?: pulumi.Input<AccessLevelName>;
  /** `YYYY-MM-DD`; changing it rotates the token. Unset: from `rotationConfiguration`. */
  expiresAt?: pulumi.Input<string>;
  /** Lifetime and when to rotate; `expiresAt` is then computed. */
  rotationConfiguration?: pulumi.Input<{
    expirationDays: pulumi.Input<number>;
    rotateBeforeDays: pulumi.Input<number>;
  }>;
  /** Description (GitLab 17.7+). Changing it replaces the token. */
  description?: pulumi.Input<string>;
}

/** Inputs after `check` (defaults applied). */
export interface ProjectAccessTokenInputs {
  project: string;
  name: string;
  scopes: string[];
  accessLevel: AccessLevelName;
  expiresAt?: string;
  rotationConfiguration?: RotationConfiguration;
  description?: string;
}

export interface ProjectAccessTokenOutputs extends ProjectAccessTokenInputs {
  /** When the token in the state expires, `YYYY-MM-DD`. */
  expiresAt: string;
  /** The token's value: a secret (additionalSecretOutputs); absent after a partial create. */
  token?: string;
  /**
   * GitLab's id of the token whose value the state holds. The resource id keeps the first
   * token's id: a dynamic provider cannot change a resource's id on update, and a rotation
   * gives the token a new id.
   */
  tokenId: number;
  /** The token whose value the state holds is active (false: the next `up` rotates). */
  active: boolean;
  revoked: boolean;
  /** The token's bot user. */
  userId: number;
  createdAt: string;
  /**
   * The random marker in the name GitLab holds (`<name> [<marker>]`), kept by every rotation:
   * how the provider finds its tokens after a lost answer and on destroy.
   */
  createMarker: string;
}

/** `YYYY-MM-DD` of an instant, in UTC. */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The day `days` after the day of `ms` (UTC). */
export function daysAfter(ms: number, days: number): string {
  return isoDay(Date.parse(`${isoDay(ms)}T00:00:00Z`) + days * DAY_MS);
}

/** The name GitLab holds: the user's name and this create's marker. */
export function markedName(name: string, marker: string): string {
  return `${name} [${marker}]`;
}

function carriesMarker(token: ProjectAccessTokenRecord, marker: string): boolean {
  return typeof token.name === "string" && token.name.endsWith(`[${marker}]`);
}

function isActive(token: ProjectAccessTokenRecord): boolean {
  return token.active === true && token.revoked !== true;
}

function levelName(level: number | undefined): AccessLevelName | undefined {
  return (Object.keys(ACCESS_LEVELS) as AccessLevelName[]).find((k) => ACCESS_LEVELS[k] === level);
}

function sameScopes(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const norm = (v: readonly string[] | undefined) => [...(v ?? [])].sort().join(",");
  return norm(a) === norm(b);
}

/**
 * Whether the token in `olds` is due for rotation at `nowMs`: within `rotateBeforeDays` of its
 * expiry (or past it).
 */
export function rotationDue(
  olds: Pick<ProjectAccessTokenOutputs, "expiresAt">,
  rotation: RotationConfiguration | undefined,
  nowMs: number,
): boolean {
  if (rotation === undefined || !olds.expiresAt) return false;
  const expires = Date.parse(`${olds.expiresAt.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(expires)) return true;
  return nowMs >= expires - rotation.rotateBeforeDays * DAY_MS;
}

/**
 * `project`, `name`, `scopes`, `accessLevel` and `description` replace (GitLab cannot change
 * them); a new `expiresAt`, a due rotation or a token in the state that is no longer active
 * update, and the update rotates.
 */
export function diffProjectAccessToken(
  olds: ProjectAccessTokenOutputs,
  news: ProjectAccessTokenInputs,
  nowMs: number,
): dynamic.DiffResult {
  const replaces: string[] = [];
  if (olds.project !== news.project) replaces.push("project");
  if (olds.name !== news.name) replaces.push("name");
  if (!sameScopes(olds.scopes, news.scopes)) replaces.push("scopes");
  if ((olds.accessLevel ?? "maintainer") !== (news.accessLevel ?? "maintainer")) {
    replaces.push("accessLevel");
  }
  if ((olds.description ?? "") !== (news.description ?? "")) replaces.push("description");
  const updates =
    needsRotation(olds, news, nowMs) ||
    JSON.stringify(olds.rotationConfiguration ?? null) !==
      JSON.stringify(news.rotationConfiguration ?? null);
  return { changes: replaces.length > 0 || updates, replaces };
}

function needsRotation(
  olds: ProjectAccessTokenOutputs,
  news: ProjectAccessTokenInputs,
  nowMs: number,
): boolean {
  if (olds.active === false || olds.token === undefined) return true;
  if (news.expiresAt !== undefined) return news.expiresAt !== olds.expiresAt;
  return rotationDue(olds, news.rotationConfiguration, nowMs);
}

function checkInteger(
  property: string,
  value: unknown,
  min: number,
  max: number,
  failures: dynamic.CheckFailure[],
): void {
  if (isUnknown(value)) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    failures.push({
      property,
      reason: `${property} must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}.`,
    });
  }
}

export class ProjectAccessTokenProvider
  extends GitLabProviderBase
  implements dynamic.ResourceProvider
{
  constructor(options?: GitLabProviderOptions) {
    super(options);
  }

  private now(): number {
    return (this.providerOptions?.client?.now ?? Date.now)();
  }

  async check(_olds: unknown, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
    const failures: dynamic.CheckFailure[] = [];
    checkProject(news.project, failures);
    checkString("name", news.name, failures, true);
    checkString("description", news.description, failures, false);
    const scopes = news.scopes;
    if (!isUnknown(scopes)) {
      if (
        !Array.isArray(scopes) ||
        scopes.length === 0 ||
        scopes.some((s) => !isUnknown(s) && (typeof s !== "string" || !/^[a-z_]+$/.test(s)))
      ) {
        failures.push({
          property: "scopes",
          reason: `scopes must be a non-empty list of GitLab scopes such as ["api"]; got ${JSON.stringify(scopes)}.`,
        });
      }
    }
    const level = news.accessLevel ?? "maintainer";
    if (!isUnknown(level) && !(typeof level === "string" && level in ACCESS_LEVELS)) {
      failures.push({
        property: "accessLevel",
        reason: `accessLevel must be one of ${Object.keys(ACCESS_LEVELS).join(", ")}; got ${JSON.stringify(level)}.`,
      });
    }
    const rotation = news.rotationConfiguration as Record<string, unknown> | undefined;
    if (news.expiresAt !== undefined && !isUnknown(news.expiresAt)) {
      const value = news.expiresAt;
      if (
        typeof value !== "string" ||
        !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
        Number.isNaN(Date.parse(value))
      ) {
        failures.push({
          property: "expiresAt",
          reason: `expiresAt must be a date such as 2030-01-31 (YYYY-MM-DD); got ${JSON.stringify(value)}.`,
        });
      }
      if (rotation !== undefined) {
        failures.push({
          property: "expiresAt",
          reason: "set expiresAt or rotationConfiguration, not both (rotation computes expiresAt).",
        });
      }
    } else if (rotation === undefined) {
      failures.push({
        property: "expiresAt",
        reason: "expiresAt or rotationConfiguration is required: GitLab tokens expire.",
      });
    }
    if (rotation !== undefined && !isUnknown(rotation)) {
      checkInteger(
        "rotationConfiguration.expirationDays",
        rotation.expirationDays,
        2,
        MAX_TOKEN_LIFETIME_DAYS,
        failures,
      );
      const lifetime =
        typeof rotation.expirationDays === "number"
          ? rotation.expirationDays
          : MAX_TOKEN_LIFETIME_DAYS;
      checkInteger(
        "rotationConfiguration.rotateBeforeDays",
        rotation.rotateBeforeDays,
        1,
        lifetime - 1,
        failures,
      );
    }
    return { inputs: compact({ ...news, accessLevel: level }), failures };
  }

  async diff(
    _id: string,
    olds: ProjectAccessTokenOutputs,
    news: ProjectAccessTokenInputs,
  ): Promise<dynamic.DiffResult> {
    return diffProjectAccessToken(olds, news, this.now());
  }

  /** The expiry a new or rotated token gets. */
  private expiryFor(inputs: ProjectAccessTokenInputs): string {
    if (inputs.expiresAt !== undefined) return inputs.expiresAt;
    const days = inputs.rotationConfiguration?.expirationDays ?? MAX_TOKEN_LIFETIME_DAYS;
    return daysAfter(this.now(), days);
  }

  async create(
    inputs: ProjectAccessTokenInputs,
  ): Promise<dynamic.CreateResult<ProjectAccessTokenOutputs>> {
    const { record, marker } = await this.createToken(inputs);
    return {
      id: formatId(inputs.project, record.id),
      outs: this.outputsFrom(inputs, marker, record),
    };
  }

  /**
   * Creates a token with a fresh marker in its name. Never sends the POST twice (a second POST
   * could leave two live tokens): after a lost answer GitLab is asked what it did instead, and
   * the token the create made is rotated, the value being only in a create or rotate answer.
   */
  private async createToken(
    inputs: ProjectAccessTokenInputs,
    resourceId?: string,
  ): Promise<{ record: ProjectAccessTokenWithToken; marker: string }> {
    const client = this.client();
    const marker = `pulumi-${randomBytes(8).toString("hex")}`;
    const name = markedName(inputs.name, marker);
    const expiresAt = this.expiryFor(inputs);
    try {
      const record = await client.createProjectAccessToken(
        inputs.project,
        compact({
          name,
          description: inputs.description,
          scopes: inputs.scopes,
          access_level: ACCESS_LEVELS[inputs.accessLevel ?? "maintainer"],
          expires_at: expiresAt,
        }),
      );
      return { record, marker };
    } catch (error) {
      if (!isAmbiguousWrite(error)) throw error;
      const found = await this.findCreated(client, inputs, name, error as Error);
      try {
        return {
          record: await this.rotateOurs(client, inputs.project, marker, found, expiresAt),
          marker,
        };
      } catch (rotateError) {
        // The token exists: keep it in the state (without a value, `active: false`) so that
        // destroy revokes it and the next `up` rotates it.
        const provider = (inputs as unknown as Record<string, unknown>).__provider;
        throw partiallyCreated(rotateError, resourceId ?? formatId(inputs.project, found.id), {
          ...this.outputsFrom(inputs, marker, { ...found, token: "" }),
          active: false,
          ...(provider === undefined ? {} : { __provider: provider }),
        });
      }
    }
  }

  /**
   * After a create whose answer was lost: the token carrying this create's marker, or an error
   * saying that nothing was created, or that GitLab could not be asked.
   */
  private findCreated(
    client: GitLabClient,
    inputs: ProjectAccessTokenInputs,
    name: string,
    original: Error,
  ): Promise<ProjectAccessTokenRecord> {
    return adoptAfterLostCreate(original, {
      what: "access token",
      project: inputs.project,
      list: () => client.listProjectAccessTokens(inputs.project),
      where: `project "${inputs.project}" > Settings > Access tokens`,
      next:
        `It is not in the state, so \`pulumi destroy\` would not revoke it: revoke the token ` +
        `named "${name}" in project "${inputs.project}" > Settings > Access tokens (a new ` +
        "`pulumi up` creates a token with another marker and would not adopt it).",
      pick: (listed, outcome) => {
        const ours = listed.filter((token) => token.name === name);
        const active = ours.filter(isActive);
        if (active.length > 0) return active.reduce((a, b) => (b.id > a.id ? b : a));
        if (ours.length > 0) {
          throw outcome.notCreated(
            `listed afterwards, the token "${name}" exists but is no longer active`,
          );
        }
        throw outcome.notCreated(`listed afterwards, no access token is named "${name}"`);
      },
    });
  }

  /**
   * Rotates the active token of this resource (`start`, already seen active) and returns the new
   * one with its value. After a lost rotate answer GitLab may have rotated it (the old one is
   * then revoked and a new active token has our marker): the tokens are listed and the active
   * one carrying the marker is rotated, so no live token is left whose value nobody holds.
   */
  private async rotateOurs(
    client: GitLabClient,
    project: string,
    marker: string,
    start: ProjectAccessTokenRecord,
    expiresAt: string,
  ): Promise<ProjectAccessTokenWithToken> {
    let target = start;
    let lastError: unknown;
    for (let round = 0; round < 3; round++) {
      try {
        return await client.rotateProjectAccessToken(project, target.id, expiresAt);
      } catch (error) {
        if (!isAmbiguousWrite(error)) throw error;
        lastError = error;
      }
      const { listed, failure } = await listAfterWrite(() =>
        client.listProjectAccessTokens(project),
      );
      if (listed === undefined) {
        throw writeMayExistError(
          lastError as Error,
          "rotated access token",
          `list access tokens of project "${project}"`,
          withoutHint(failure),
          `project "${project}" > Settings > Access tokens`,
          "The state keeps the previous token: the next `pulumi up` finds the active token " +
            `carrying "${marker}" and rotates it, and \`pulumi destroy\` revokes it.`,
        );
      }
      const active = listed.filter((t) => isActive(t) && carriesMarker(t, marker));
      if (active.length === 0) {
        throw new Error(
          `${withoutHint(lastError)} Listed afterwards, project "${project}" has no active ` +
            `access token carrying "${marker}" (revoked by hand?). Run \`pulumi refresh\`, then ` +
            "`pulumi up` creates a new token.",
        );
      }
      target = active.reduce((a, b) => (b.id > a.id ? b : a));
    }
    throw lastError;
  }

  /** The active token of this resource now: the one in the state, or its rotated successor. */
  private async currentToken(
    client: GitLabClient,
    project: string,
    olds: ProjectAccessTokenOutputs,
    fetched?: { record: ProjectAccessTokenRecord | undefined },
  ): Promise<ProjectAccessTokenRecord | undefined> {
    const record = fetched
      ? fetched.record
      : await unlessGone(() => client.getProjectAccessToken(project, olds.tokenId));
    if (record !== undefined && isActive(record)) return record;
    if (!olds.createMarker) return undefined;
    const listed = await client.listProjectAccessTokens(project);
    const active = listed.filter((t) => isActive(t) && carriesMarker(t, olds.createMarker));
    return active.length === 0 ? undefined : active.reduce((a, b) => (b.id > a.id ? b : a));
  }

  private outputsFrom(
    inputs: ProjectAccessTokenInputs,
    marker: string,
    record: ProjectAccessTokenRecord & { token?: string },
    previous?: Partial<ProjectAccessTokenOutputs>,
  ): ProjectAccessTokenOutputs {
    const token = record.token === "" ? undefined : (record.token ?? previous?.token);
    return compact({
      project: inputs.project,
      name: inputs.name,
      scopes: inputs.scopes,
      accessLevel: inputs.accessLevel ?? "maintainer",
      rotationConfiguration: inputs.rotationConfiguration,
      description: inputs.description,
      expiresAt: record.expires_at ?? previous?.expiresAt ?? inputs.expiresAt ?? "",
      token,
      tokenId: record.id,
      active: isActive(record) && token !== undefined,
      revoked: record.revoked === true,
      userId: record.user_id,
      createdAt: record.created_at,
      createMarker: marker,
    } as ProjectAccessTokenOutputs);
  }

  async read(
    id: string,
    props?: ProjectAccessTokenOutputs,
  ): Promise<dynamic.ReadResult<ProjectAccessTokenOutputs>> {
    const { project, id: firstId } = parseId(id, "ProjectAccessToken");
    const olds = { ...props, tokenId: props?.tokenId ?? firstId } as ProjectAccessTokenOutputs;
    const client = this.client();
    const record = await unlessGone(() => client.getProjectAccessToken(project, olds.tokenId));
    let current = record;
    if (record === undefined || !isActive(record)) {
      // A rotation whose answer was lost leaves the state's token revoked and a successor
      // active: keep following it (the next `up` rotates it, its value being unknown).
      current = (await this.currentToken(client, project, olds, { record })) ?? record;
    }
    // Gone or revoked by hand, with no active successor: drop it, the next `up` creates one.
    // An expired token stays (`active: false`): GitLab keeps it and its bot user's membership
    // until it is revoked (app/services/personal_access_tokens/rotate_service.rb
    // `update_project_bot_membership`), so the next `up` renews it and revokes it, and destroy
    // would revoke it; dropped, nothing would.
    if (current === undefined || current.revoked === true) return { id: "" };
    const inputs: ProjectAccessTokenInputs = {
      project: olds.project ?? project,
      name: olds.name ?? current.name.replace(/ \[pulumi-[0-9a-f]+\]$/, ""),
      scopes: sameScopes(olds.scopes, current.scopes) ? olds.scopes : current.scopes,
      accessLevel: levelName(current.access_level) ?? olds.accessLevel ?? "maintainer",
      rotationConfiguration: olds.rotationConfiguration,
      description: olds.description,
    };
    const outs = this.outputsFrom(inputs, olds.createMarker ?? "", current, olds);
    // Only the token the state holds the value of is usable.
    if (current.id !== olds.tokenId) outs.active = false;
    return { id, props: outs };
  }

  async update(
    id: string,
    olds: ProjectAccessTokenOutputs,
    news: ProjectAccessTokenInputs,
  ): Promise<dynamic.UpdateResult<ProjectAccessTokenOutputs>> {
    const { project } = parseId(id, "ProjectAccessToken");
    const marker = olds.createMarker ?? "";
    if (!needsRotation(olds, news, this.now())) {
      // Only rotationConfiguration changed: nothing to ask GitLab.
      const outs: Record<string, unknown> = { ...olds };
      delete outs.__provider;
      return {
        outs: compact({
          ...outs,
          rotationConfiguration: news.rotationConfiguration,
        }) as ProjectAccessTokenOutputs,
      };
    }
    const client = this.client();
    const current = await this.currentToken(client, project, olds);
    if (current === undefined) {
      // Expired before an `up` rotated it, or revoked by hand: a new token (a new marker; the
      // resource keeps its id, `tokenId` names the new token).
      const created = await this.createToken(news, id);
      await this.revokeReplaced(client, project, olds.tokenId);
      return { outs: this.outputsFrom(news, created.marker, created.record, olds) };
    }
    let record: ProjectAccessTokenWithToken;
    try {
      record = await this.rotateOurs(client, project, marker, current, this.expiryFor(news));
    } catch (error) {
      if (!isAmbiguousWrite(error)) throw error;
      // GitLab may have rotated: the state's value may be revoked and a successor live. With
      // `id` and `properties` the host reports a partial failure and the engine stores these
      // outputs (pulumi v3.259.0 pkg/resource/deploy/step.go UpdateStep.Apply:
      // `s.new.Outputs = resp.Properties`): `active: false` makes the next `up` find the live
      // token by its marker and rotate it, without a refresh first.
      const provider = (news as unknown as Record<string, unknown>).__provider;
      const outs: Record<string, unknown> = { ...olds, active: false };
      delete outs.__provider;
      // Not the value: an error object must never carry a token (it may be logged); the next
      // `up` rotates and gets a new one.
      delete outs.token;
      throw partiallyCreated(error, id, {
        ...compact(outs),
        ...(provider === undefined ? {} : { __provider: provider }),
      });
    }
    return { outs: this.outputsFrom(news, marker, record, olds) };
  }

  /**
   * After a renewal: revokes the state's previous token, expired or revoked by hand. GitLab keeps
   * an expired token and its bot user (a project member) until a revoke, which schedules the
   * bot user for deletion (app/services/resource_access_tokens/revoke_service.rb
   * `destroy_bot_user`); the new token's state no longer names it, so destroy would not. Best
   * effort: the new token's value is only in this update's answer, so a failure here is a
   * warning, never an error that would lose it.
   */
  private async revokeReplaced(
    client: GitLabClient,
    project: string,
    tokenId: number | undefined,
  ): Promise<void> {
    if (tokenId === undefined) return;
    try {
      const record = await unlessGone(() => client.getProjectAccessToken(project, tokenId));
      if (record === undefined || record.revoked === true) return;
      await client.revokeProjectAccessToken(project, tokenId);
    } catch (error) {
      if (isGone(error)) return;
      this.note(
        `warning: could not revoke the replaced access token ${tokenId} of project ` +
          `"${project}" (${withoutHint(error)}); revoke it in Settings > Access tokens.`,
      );
    }
  }

  async delete(id: string, props?: ProjectAccessTokenOutputs): Promise<void> {
    const { project, id: firstId } = parseId(id, "ProjectAccessToken");
    const client = this.client();
    const ids = new Set<number>([props?.tokenId ?? firstId]);
    const marker = props?.createMarker;
    if (marker) {
      // Every active token of this resource: a rotation whose answer was lost leaves a successor
      // the state does not name.
      const listed = await client.listProjectAccessTokens(project);
      for (const token of listed) {
        if (isActive(token) && carriesMarker(token, marker)) ids.add(token.id);
      }
    }
    for (const tokenId of ids) {
      try {
        await client.revokeProjectAccessToken(project, tokenId);
      } catch (error) {
        // 404: gone. A 400 on a token already revoked (its bot user is being deleted) is done too.
        if (isGone(error)) continue;
        const again = await unlessGone(() => client.getProjectAccessToken(project, tokenId));
        if (again !== undefined && isActive(again)) throw error;
      }
    }
  }
}

/**
 * A project access token (type `pulumi-nodejs:dynamic/gitlab:ProjectAccessToken`, id
 * `<project>:<first token id>`). `token` is a secret output; rotation keeps the resource and
 * changes `tokenId` and `token`.
 */
export class ProjectAccessToken extends pulumi.dynamic.Resource {
  // `declare`: a class field would be re-initialised to undefined after super() sets it.
  declare readonly project: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  declare readonly scopes: pulumi.Output<string[]>;
  declare readonly accessLevel: pulumi.Output<AccessLevelName>;
  declare readonly expiresAt: pulumi.Output<string>;
  declare readonly description: pulumi.Output<string | undefined>;
  /** The token's value (secret). */
  declare readonly token: pulumi.Output<string>;
  declare readonly tokenId: pulumi.Output<number>;
  declare readonly active: pulumi.Output<boolean>;
  declare readonly revoked: pulumi.Output<boolean>;
  declare readonly userId: pulumi.Output<number>;
  declare readonly createdAt: pulumi.Output<string>;

  constructor(name: string, args: ProjectAccessTokenArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      projectAccessTokenProvider,
      name,
      {
        project: args.project,
        name: args.name,
        scopes: args.scopes,
        accessLevel: args.accessLevel ?? "maintainer",
        expiresAt: args.expiresAt,
        rotationConfiguration: args.rotationConfiguration,
        description: args.description,
        token: undefined,
        tokenId: undefined,
        active: undefined,
        revoked: undefined,
        userId: undefined,
        createdAt: undefined,
      },
      // The value exists only in GitLab's create/rotate answer and in the state: the engine
      // encrypts outputs named here (pkg/resource/deploy/step_executor.go, newState.
      // AdditionalSecretOutputs -> resource.MakeSecret), and a refresh keeps them secret
      // (sdk/go/common/resource/plugin/provider_plugin.go Read: annotateSecrets(newState,
      // req.State)).
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["token"] }),
      "gitlab",
      "ProjectAccessToken",
    );
  }
}
