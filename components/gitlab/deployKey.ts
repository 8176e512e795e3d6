// GitLab project deploy key as a Pulumi dynamic resource, with @pulumi/gitlab's DeployKey
// argument and output names so the official provider can replace it later.
import * as pulumi from "@pulumi/pulumi";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { embeddedKeyType } from "../../config/validators";
import { DeployKeyRecord, GitLabClient } from "./client";
import { adoptAfterLostCreate } from "./adopt";
import { isAmbiguousWrite, partiallyCreated, unlessGone } from "./errors";
import { GitLabProviderBase, GitLabProviderOptions } from "./providerConfig";
import { providerShim } from "./shim";
import {
  checkBoolean,
  checkIsoDate,
  checkProject,
  checkString,
  compact,
  formatId,
  isUnknown,
  keyFingerprintSha256,
  parseId,
  sameFingerprint,
  sameInstant,
} from "./shared";

// What every DeployKey hands to Pulumi: a forwarder that runs the project's current provider.ts
// (shim.ts says why).
const deployKeyProvider = providerShim("DeployKey");

export interface DeployKeyArgs {
  /** Project full path (`group/app`) or numeric id. Changing it replaces the key. */
  project: pulumi.Input<string>;
  /** Title shown in GitLab. Updated in place. */
  title: pulumi.Input<string>;
  /** OpenSSH public key (`ssh-ed25519 AAAA... comment`). Changing it replaces the key. */
  key: pulumi.Input<string>;
  /** Allow pushes with this key (default false). Updated in place. */
  canPush?: pulumi.Input<boolean>;
  /** ISO 8601 expiry date. GitLab cannot change it in place: changing it replaces the key. */
  expiresAt?: pulumi.Input<string>;
}

/** Inputs after `check` (defaults applied). */
export interface DeployKeyInputs {
  project: string;
  title: string;
  key: string;
  canPush: boolean;
  expiresAt?: string;
}

export interface DeployKeyOutputs extends DeployKeyInputs {
  deployKeyId: number;
  fingerprintSha256: string;
}

const KEY_TYPES =
  /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;

/**
 * Type and body of an OpenSSH public key. GitLab stores keys trimmed and with at most the
 * first word of the comment, and `tls.PrivateKey.publicKeyOpenssh` ends in a newline, so the
 * raw strings differ while the key is the same.
 */
export function normalizeKey(key: string): string {
  const [type, body] = key.trim().split(/\s+/);
  return body === undefined ? key.trim() : `${type} ${body}`;
}

/**
 * The key as GitLab stores it: trimmed, type, body and only the first word of the comment
 * (lib/gitlab/ssh_public_key.rb `SSHPublicKey.sanitize`, called by app/models/key.rb `key=`).
 * GitLab's create looks an existing key up by the exact text POSTed
 * (lib/api/deploy_keys.rb: `user_project.deploy_keys.find_by(key: params[:key])`), so sending
 * this form finds a key already on the project instead of failing its fingerprint uniqueness.
 */
function storedKeyForm(key: string): string {
  const [type, body, comment] = key.trim().split(/\s+/);
  if (body === undefined) return key.trim();
  return comment === undefined ? `${type} ${body}` : `${type} ${body} ${comment}`;
}

/** GitLab's 400 when the key's fingerprint is already registered (app/models/key.rb). */
function isFingerprintTaken(error: unknown): boolean {
  const fields = error as { status?: unknown; gitlabMessage?: unknown } | undefined;
  return (
    fields?.status === 400 &&
    typeof fields.gitlabMessage === "string" &&
    /fingerprint/i.test(fields.gitlabMessage)
  );
}

export function sameKey(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || isUnknown(a) || isUnknown(b)) return a === b;
  return normalizeKey(a) === normalizeKey(b);
}

/** Why a string is not an OpenSSH public key, or undefined. Never quotes the key itself. */
export function publicKeyProblem(key: string): string | undefined {
  if (key.includes("PRIVATE KEY")) {
    return "key looks like a PRIVATE key; pass the public key (e.g. tls.PrivateKey.publicKeyOpenssh).";
  }
  const [type, body] = key.trim().split(/\s+/);
  if (!type || !KEY_TYPES.test(type) || !body) {
    return "key must be an OpenSSH public key: `<type> <base64> [comment]`, e.g. `ssh-ed25519 AAAA...`.";
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    return "key's second word must be the base64 key body of an OpenSSH public key.";
  }
  // The body starts with its own type as a length-prefixed string: catches a body pasted
  // under the wrong type or cut short.
  if (embeddedKeyType(body) !== type) {
    return `key's base64 body is not a ${type} public key (truncated or mismatched type?).`;
  }
  return undefined;
}

/**
 * Decides replace vs update. `project`, `key` (compared on type + body) and `expiresAt`
 * replace; `title` and `canPush` update in place.
 */
export function diffDeployKey(olds: DeployKeyOutputs, news: DeployKeyInputs): dynamic.DiffResult {
  const replaces: string[] = [];
  if (olds.project !== news.project) replaces.push("project");
  const keyChanged = !sameKey(olds.key, news.key);
  if (keyChanged) replaces.push("key");
  if (!sameInstant(olds.expiresAt, news.expiresAt)) replaces.push("expiresAt");
  const updates = [
    olds.title !== news.title,
    (olds.canPush ?? false) !== (news.canPush ?? false),
  ].some(Boolean);
  return {
    changes: replaces.length > 0 || updates,
    replaces,
    // GitLab's create returns the existing record when the key is already on the project, so
    // create-before-delete with the same key would end by deleting the key it just "created".
    // With a new key (rotation) the default order keeps a valid key at every moment.
    deleteBeforeReplace: replaces.length > 0 && !keyChanged,
  };
}

function outputsFrom(
  inputs: DeployKeyInputs,
  record: DeployKeyRecord,
  previous?: Partial<DeployKeyOutputs>,
): DeployKeyOutputs {
  return compact({
    project: inputs.project,
    title: record.title ?? inputs.title,
    // Keep the user's spelling while it is the same key, so state matches the program.
    key: record.key === undefined || sameKey(inputs.key, record.key) ? inputs.key : record.key,
    canPush: typeof record.can_push === "boolean" ? record.can_push : inputs.canPush,
    expiresAt:
      record.expires_at === undefined || sameInstant(inputs.expiresAt, record.expires_at)
        ? inputs.expiresAt
        : (record.expires_at ?? undefined),
    deployKeyId: record.id ?? previous?.deployKeyId,
    fingerprintSha256: record.fingerprint_sha256 ?? previous?.fingerprintSha256 ?? "",
  } as DeployKeyOutputs);
}

export class DeployKeyProvider extends GitLabProviderBase implements dynamic.ResourceProvider {
  constructor(options?: GitLabProviderOptions) {
    super(options);
  }

  async check(_olds: unknown, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
    const failures: dynamic.CheckFailure[] = [];
    checkProject(news.project, failures);
    checkString("title", news.title, failures, true);
    checkString("key", news.key, failures, true);
    if (typeof news.key === "string" && news.key.trim() !== "" && !isUnknown(news.key)) {
      const problem = publicKeyProblem(news.key);
      if (problem) failures.push({ property: "key", reason: problem });
    }
    checkBoolean("canPush", news.canPush, failures);
    checkIsoDate("expiresAt", news.expiresAt, failures);
    return { inputs: compact({ ...news, canPush: news.canPush ?? false }), failures };
  }

  async diff(
    _id: string,
    olds: DeployKeyOutputs,
    news: DeployKeyInputs,
  ): Promise<dynamic.DiffResult> {
    return diffDeployKey(olds, news);
  }

  async create(inputs: DeployKeyInputs): Promise<dynamic.CreateResult<DeployKeyOutputs>> {
    const client = this.client();
    const canPush = inputs.canPush ?? false;
    let record: DeployKeyRecord;
    try {
      record = await client.createDeployKey(inputs.project, {
        title: inputs.title,
        key: storedKeyForm(inputs.key),
        can_push: canPush,
        expires_at: inputs.expiresAt,
      });
    } catch (error) {
      if (!isAmbiguousWrite(error) && !isFingerprintTaken(error)) throw error;
      // Lost answer: find out whether GitLab added it. Fingerprint taken: the key may be on
      // this project under another comment (GitLab's find_by(key:) compares the text).
      record = await this.findByFingerprint(client, inputs, error as Error);
    }
    if (record.title !== inputs.title || record.can_push !== canPush) {
      // GitLab handed back a key that was already on the project (left by a failed run or
      // added by hand) with its old title/can_push; make it what the program says.
      try {
        const updated = await client.updateDeployKey(inputs.project, record.id, {
          title: inputs.title,
          can_push: canPush,
        });
        record = { ...record, ...updated, can_push: updated.can_push ?? canPush };
      } catch (error) {
        // The key is on the project: keep it in the state so destroy removes it.
        const outs = outputsFrom({ ...inputs, canPush: record.can_push }, record);
        const provider = (inputs as unknown as Record<string, unknown>).__provider;
        throw partiallyCreated(error, formatId(inputs.project, record.id), {
          ...outs,
          title: record.title,
          ...(provider === undefined ? {} : { __provider: provider }),
        });
      }
    }
    return {
      id: formatId(inputs.project, record.id),
      outs: outputsFrom({ ...inputs, canPush }, record),
    };
  }

  /**
   * Lists the project's deploy keys and returns the one with this key's fingerprint, or
   * throws: the original error when a fingerprint 400 is not explained by this project, a
   * "not created" error when a lost answer turns out to have created nothing, a "may exist"
   * error when GitLab cannot be asked.
   */
  private async findByFingerprint(
    client: GitLabClient,
    inputs: DeployKeyInputs,
    original: Error,
  ): Promise<DeployKeyRecord> {
    const fingerprint = keyFingerprintSha256(inputs.key);
    try {
      return await adoptAfterLostCreate(original, {
        what: "deploy key",
        project: inputs.project,
        list: () => client.listDeployKeys(inputs.project),
        where: `project "${inputs.project}" > Settings > Repository > Deploy keys`,
        next:
          `It is not in the state yet, so \`pulumi destroy\` would not remove it: run ` +
          "`pulumi up` again once GitLab answers (it finds the key by fingerprint and adopts " +
          `it), or remove the key with fingerprint ${fingerprint} from project ` +
          `"${inputs.project}" > Settings > Repository > Deploy keys.`,
        pick: (listed, outcome) => {
          const found = listed.find((key) => sameFingerprint(key.fingerprint_sha256, fingerprint));
          if (found) return found;
          throw outcome.notCreated(
            `listed afterwards, no deploy key of the project has fingerprint ${fingerprint}`,
          );
        },
      });
    } catch (error) {
      // A fingerprint 400 was GitLab's own answer, not a lost one: unless this project explains
      // it, report it as GitLab gave it.
      if (!isAmbiguousWrite(original)) throw original;
      throw error;
    }
  }

  async read(id: string, props?: DeployKeyOutputs): Promise<dynamic.ReadResult<DeployKeyOutputs>> {
    const { project, id: keyId } = parseId(id, "DeployKey");
    const record = await unlessGone(() => this.client().getDeployKey(project, keyId));
    // Removed by hand: an empty id drops it from the state. A missing project throws instead:
    // dropping the resource would forget a key that may still exist and grant access.
    if (record === undefined) return { id: "" };
    const inputs: DeployKeyInputs = {
      project: props?.project ?? project,
      title: record.title,
      key: props?.key ?? record.key,
      canPush: record.can_push,
      expiresAt: props?.expiresAt,
    };
    return { id, props: outputsFrom(inputs, record, props) };
  }

  async update(
    id: string,
    olds: DeployKeyOutputs,
    news: DeployKeyInputs,
  ): Promise<dynamic.UpdateResult<DeployKeyOutputs>> {
    const { project, id: keyId } = parseId(id, "DeployKey");
    const canPush = news.canPush ?? false;
    const record = await this.client().updateDeployKey(project, keyId, {
      title: news.title,
      can_push: canPush,
    });
    return {
      outs: outputsFrom(
        { ...news, canPush },
        { ...record, id: record.id ?? keyId, can_push: record.can_push ?? canPush },
        olds,
      ),
    };
  }

  async delete(id: string): Promise<void> {
    const { project, id: keyId } = parseId(id, "DeployKey");
    await unlessGone(() => this.client().deleteDeployKey(project, keyId));
  }
}

/**
 * A deploy key on a GitLab project (type `pulumi-nodejs:dynamic/gitlab:DeployKey`, id
 * `<project>:<key id>`). Connection from `gitlab:baseUrl` / `gitlab:token`.
 */
export class DeployKey extends pulumi.dynamic.Resource {
  // `declare`: a class field would be re-initialised to undefined after super() sets it.
  declare readonly project: pulumi.Output<string>;
  declare readonly title: pulumi.Output<string>;
  declare readonly key: pulumi.Output<string>;
  declare readonly canPush: pulumi.Output<boolean>;
  declare readonly expiresAt: pulumi.Output<string | undefined>;
  /** GitLab's numeric id of the key. */
  declare readonly deployKeyId: pulumi.Output<number>;
  /** `SHA256:...` fingerprint as GitLab computed it. */
  declare readonly fingerprintSha256: pulumi.Output<string>;

  constructor(name: string, args: DeployKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      deployKeyProvider,
      name,
      {
        project: args.project,
        title: args.title,
        key: args.key,
        canPush: args.canPush ?? false,
        expiresAt: args.expiresAt,
        deployKeyId: undefined,
        fingerprintSha256: undefined,
      },
      opts,
      "gitlab",
      "DeployKey",
    );
  }
}
