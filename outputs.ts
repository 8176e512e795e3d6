// The outputs contract: what other stacks read from this one with StackReference. Names and
// shapes here are a public API; tests/contract/outputs.test.ts fails when one is renamed or removed.
// A consumer stack imports these types from this file (copy it, or a path into a checkout of
// this repository, as examples/consumer does): import type { AppOutput } from "./outputs".

/** Installed Tekton versions; `null` when `tekton.install` is false. */
export interface TektonOutput {
  pipelines: string;
  triggers: string;
  /** Tekton Chains; `null` unless `tekton.chains.install` is true. */
  chains: ChainsOutput | null;
  /** Tekton Pruner; `null` when `tekton.pruner.install` is false. */
  pruner: PrunerOutput | null;
  /** Tekton Dashboard; `null` unless `tekton.dashboard.install` is true. */
  dashboard: DashboardOutput | null;
}

/** Tekton Pruner as installed by the stack. */
export interface PrunerOutput {
  version: string;
}

/** Tekton Dashboard (read-only) as installed by the stack. */
export interface DashboardOutput {
  version: string;
  /**
   * Base URL (no trailing slash) a PipelineRun's page hangs off:
   * `<url>/#/namespaces/<namespace>/pipelineruns/<name>`. `tekton.dashboard.url`, else
   * `https://<tekton.dashboard.ingress.host>`; `null` when neither is set.
   */
  url: string | null;
}

/** Tekton Chains as installed by the stack. */
export interface ChainsOutput {
  version: string;
  /**
   * The public half of the key Chains signs images and provenance with: PEM "PUBLIC KEY"
   * (ECDSA P-256). `cosign verify --key` / `cosign verify-attestation --key` take it, as does
   * an admission policy. Changes when `tekton.chains.keyRotation` does.
   */
  signingPublicKey: string;
}

/** One side of an app's Git access (the source it pulls, or the operations repo it pushes). */
export interface DeployKeyOutput {
  /** GitLab project path the key belongs on. */
  project: string;
  /** OpenSSH public key, one line; register it by hand when `manageDeployKeys` is false. */
  publicKey: string;
  /** `SHA256:...`, as GitLab shows it. */
  fingerprintSha256: string;
  /** true for the operations key (write), false for the source key (read-only). */
  canPush: boolean;
  /** GitLab's deploy key id; `null` when `manageDeployKeys` is false. */
  deployKeyId: number | null;
}

/** How an app's builds show in GitLab (`apps[].statusReporting`). */
export interface BuildStatusOutput {
  /** The commit status `name` GitLab shows next to each commit and in merge requests. */
  name: string;
  /** Secret in the app's `namespace` the status tasks read the GitLab token from (key `token`). */
  tokenSecret: string;
  /**
   * GitLab id of the project access token the stack manages on the source project; changes when
   * the token is rotated. `null` when the token is given (`statusReporting.tokenSecretName`).
   */
  projectAccessTokenId: number | null;
  /**
   * The day that token expires (`YYYY-MM-DD`, as GitLab keeps it): the first `pulumi up` within
   * `statusReporting.rotateBeforeDays` of it rotates the token. Alert on it if `up` runs rarely.
   * `null` when the token is given.
   */
  tokenExpiresAt: string | null;
}

/** An app's merge request builds (`apps[].mergeRequests`). */
export interface MergeRequestsOutput {
  /** true when the head of every merge request from the project's own branches is built. */
  enabled: boolean;
  /** The Pipeline merge requests run (`build-<app>-merge-request`); `null` when off. */
  pipeline: string | null;
  /**
   * The commit status name the merge request widget shows (`tekton/<app>/merge-request`);
   * `null` when off or without status reporting.
   */
  statusName: string | null;
  /** true when a merge request build pushes `<image>:mr-<iid>-<12 hex>`; false otherwise. */
  push: boolean;
  /** The comment that builds a merge request again; `null` when off. */
  retestComment: string | null;
}

export interface AppOutput {
  /** Build namespace holding the pipeline, its Secrets and the app's Trigger. */
  namespace: string;
  /** ServiceAccount PipelineRuns run as. */
  serviceAccount: string;
  /** Name of the tekton.dev/v1 Pipeline (start it with `tkn pipeline start`). */
  pipeline: string;
  /**
   * Name of the EventListener that serves this app: one shared by every app of the stack (until
   * the shared listener, one per app in `namespace`). Its Service is `el-<eventListener>` on port
   * 8080, in `eventListenerNamespace`.
   */
  eventListener: string;
  /** Namespace of that EventListener (`tekton-gitlab:listener.namespace`). */
  eventListenerNamespace: string;
  /** URL GitLab delivers push events to: the same for every app (`https://<listener.host>/`). */
  webhookUrl: string;
  /** GitLab's project hook id; `null` when GitLab resources are not managed. */
  webhookId: number | null;
  sourceDeployKey: DeployKeyOutput;
  operationsDeployKey: DeployKeyOutput;
  /** Build status in GitLab; `null` with `statusReporting` off. */
  buildStatus: BuildStatusOutput | null;
  /** Merge request builds; `enabled: false` without `mergeRequests.build`. */
  mergeRequests: MergeRequestsOutput;
}

/** Every stack output, by name. */
export interface StackOutputs {
  tekton: TektonOutput | null;
  /** Keyed by app name. Holds no secrets, so consumers can use it freely. */
  apps: Record<string, AppOutput>;
  /**
   * Webhook tokens keyed by app name: a secret output (kept apart from `apps` so reading an
   * app's namespace does not make everything secret). Needed only for manual webhook setup.
   */
  webhookTokens: Record<string, string>;
}

/** The output names, in one place for consumers and the contract test. */
export const STACK_OUTPUT_NAMES: readonly (keyof StackOutputs)[] = [
  "tekton",
  "apps",
  "webhookTokens",
];
