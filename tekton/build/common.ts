// What the build Tasks (tagTask.ts, buildTask.ts, patchTask.ts) and their Pipeline share: the
// Task, param and result names (part of the stack's contract), where the source checkout lives
// and how a git step finds its deploy key.
import { GIT_PULL_SECRET, PIPELINE_PARAMS, WORKSPACES } from "../core/names";
import { EnvVar, WorkspaceDeclaration } from "../core/types";
import { env, workspacePath } from "../core/variables";

/** Task names (and the Pipeline's task names): part of the stack's contract. */
export const TASK_NAMES = {
  tag: "generate-image-tag",
  build: "build-and-push",
  patch: "patch-deployment",
} as const;

/** Params of the Tasks; the Pipeline declares the same names. */
export const TASK_PARAMS = {
  ...PIPELINE_PARAMS,
  registryHost: "registry-host",
  imageRepository: "image-repository",
  imageUrl: "image-url",
  dockerfile: "dockerfile",
  contextDir: "context-dir",
  deploymentFile: "deployment-file",
  containerName: "container-name",
  imageDigest: "image-digest",
  cacheRepository: "cache-repository",
  commitSha: "commit-sha",
  sourceBranch: "source-branch",
  operationsBranch: "operations-branch",
} as const;

/** Results of the tag task. */
export const TASK_RESULTS = {
  imageUrl: "image-url",
  commitSha: "commit-sha",
} as const;

/**
 * Results of the build task, named for Tekton Chains' type hinting: a TaskRun (or PipelineRun)
 * with an `IMAGE_URL` and an `IMAGE_DIGEST` result built that image (tektoncd/chains v0.29.2
 * pkg/artifacts/signable.go `OCIImageURLResultName`/`OCIImageDigestResultName`, read by
 * `ExtractOCIImagesFromResults`; pkg/chains/formats/slsa/extract/extract.go
 * `SubjectDigests` for provenance subjects). Chains signs the image and attests the build.
 */
export const BUILD_RESULTS = {
  imageUrl: "IMAGE_URL",
  imageDigest: "IMAGE_DIGEST",
} as const;

/** Checkout of the source repository inside the `source` workspace. */
export const SOURCE_CHECKOUT_DIR = "src";
/**
 * Ref the tag task leaves in the source checkout: the source branch's tip as fetched with the
 * commit. patch-deployment reads it (no key, no network) to decide which commit is newer.
 */
export const SOURCE_TIP_REF = "refs/tekton-gitlab/branch-tip";

/**
 * Where scripts/tag.sh and scripts/write-key.sh find the key and host keys before
 * scripts/git-ssh.sh hands them to git: an ssh-auth Secret bound to `workspace`.
 */
export const sshKeyEnv = (workspace: string): EnvVar[] => [
  env("SSH_KEY", `${workspacePath(workspace)}/ssh-privatekey`),
  env("KNOWN_HOSTS", `${workspacePath(workspace)}/known_hosts`),
];

/** The workspaces of a Task that fetches the source with the read-only key (tag, a merge request's fetch). */
export function checkoutWorkspaces(): WorkspaceDeclaration[] {
  return [
    { name: WORKSPACES.source, description: "Receives the checkout" },
    {
      name: WORKSPACES.gitPull,
      description: `Secret ${GIT_PULL_SECRET}: the read-only source key and known_hosts`,
      readOnly: true,
    },
  ];
}
