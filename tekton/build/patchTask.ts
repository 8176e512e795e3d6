// patch-deployment: clones the operations repository, points the workload's container at the
// pushed image by digest (kubectl) and commits and pushes the change, newest commit winning.
// Its scripts are scripts/clone-operations.sh, set-image.sh and commit-and-push.sh.
import * as path from "node:path";
import { AppConfig } from "../../config/schema";
import { WORKSPACES } from "../core/names";
import { readScript } from "../core/scripts";
import { nonRootStepTemplate, stringParam, taskMetadata } from "../core/steps";
import { Task } from "../core/types";
import { env, param, workspacePath } from "../core/variables";
import { BuildContext } from "./context";
import { SOURCE_CHECKOUT_DIR, sshKeyEnv, TASK_NAMES, TASK_PARAMS } from "./common";

/** Checkout of the operations repository inside the `operations` workspace. */
export const OPERATIONS_CHECKOUT_DIR = "repo";
/** kubectl's output, beside (not inside) the operations checkout. */
export const PATCHED_FILE = "patched-deployment.yaml";
/** How often the patch task pushes before giving up when others keep pushing first. */
export const PUSH_ATTEMPTS = 5;
/** Author and committer of the operations commits. */
export const COMMIT_IDENTITY = { name: "tekton-gitlab", email: "tekton-gitlab@noreply.invalid" };

const SCRIPTS = path.join(__dirname, "scripts");
/** Checks the params, then clones the branch with the write key (scripts/write-key.sh). */
const CLONE_OPERATIONS_SCRIPT = readScript(SCRIPTS, "clone-operations.sh");

/**
 * Sets the image with `kubectl set image`, which fails when the container does not exist, where a
 * strategic-merge `kubectl patch` would silently add a second, image-only container. The kubectl
 * image (Debian-based since Kubernetes 1.28) has bash; an `images.kubectl` override must provide
 * bash and kubectl on PATH (the script needs nothing else).
 *
 * Operations repositories often keep a workload and its Service (and more) in one file, and
 * `kubectl set image --local -f` fails on every document without a pod template ("the object is
 * not a pod or does not have a pod template"). So the file is split at its `---` lines in bash,
 * each document goes to kubectl on its own, and exactly one document, the workload with a
 * container of that name, is replaced by kubectl's output; every other byte of the file, the
 * separators and the other documents included, is written back as it was.
 */
const SET_IMAGE_SCRIPT = readScript(SCRIPTS, "set-image.sh");

/**
 * Commits kubectl's output and pushes it. `kubectl set image -o yaml` re-serialises the patched
 * document, so the first pipeline commit drops its comments and reorders its keys; later ones
 * change only the image line.
 *
 * Runs of different commits race, and a run can be re-run or its webhook redelivered long after
 * a newer commit was deployed. Whether this build replaces what the file deploys is decided by
 * the source history the tag task left in the source workspace (the commit's whole history and
 * the branch tip it fetched), never by when a run happened. The deployed commit is read from the
 * image tag generate-image-tag wrote (<committer date>-<commit>): the tag travels with the image
 * reference, so a hand edit of the image cannot leave a stale record behind. For each deployed
 * build of this image repository:
 * - the same commit: nothing changes (a re-run or a redelivered webhook rolls nothing out);
 * - an ancestor of this commit: this build replaces it;
 * - a descendant of this commit: it stays, and the log says a newer commit is deployed;
 * - diverged (a force push rewrote the branch): this build replaces it only when this commit is
 *   on the branch tip the tag task fetched; otherwise this commit was itself rewritten away;
 * - unknown to this checkout: this commit's history was fetched whole, so it is not an ancestor:
 *   either it was pushed after the tag task fetched, or a force push dropped it. History cannot
 *   tell these apart; the committer dates in the tags do: this build replaces it only when this
 *   commit is on the fetched tip and was committed strictly later.
 * A file naming no build with a commit id (a first deploy, a hand-written image, a tag from an
 * older version of this pipeline) takes this build. The decision is taken again against the
 * fetched branch after every rejected push. When a rebase conflicts and the fetched file still
 * should take this build, an older run changed the same lines: this build's image replaces the
 * deployed builds in the fetched file, which keeps everything else it holds (a plain-text
 * replacement, no regex built from config).
 */
const COMMIT_AND_PUSH_SCRIPT = readScript(SCRIPTS, "commit-and-push.sh");

/**
 * Points the Deployment's container at the pushed image by digest and pushes that to the
 * operations repository, which the GitOps tool syncs.
 */
export function patchDeploymentTask(app: AppConfig, ctx: BuildContext): Task {
  const operations = workspacePath(WORKSPACES.operations);
  // What the three steps pass along: the checkout, kubectl's output beside it, the file.
  const filesEnv = [
    env("CHECKOUT", `${operations}/${OPERATIONS_CHECKOUT_DIR}`),
    env("PATCHED", `${operations}/${PATCHED_FILE}`),
  ];
  const deploymentFileEnv = env("DEPLOYMENT_FILE", param(TASK_PARAMS.deploymentFile));
  const imageEnv = [
    env("IMAGE_URL", param(TASK_PARAMS.imageUrl)),
    env("IMAGE_DIGEST", param(TASK_PARAMS.imageDigest)),
  ];
  const sshEnv = () => sshKeyEnv(WORKSPACES.gitWrite);
  // Step-level workspaces (Tekton v1 Step.workspaces, beta and on by default in v1.15:
  // pkg/apis/pipeline/v1/task_validation.go validateWorkspaceUsages requires
  // enable-api-fields "beta", the default in pkg/apis/config/feature_flags.go): once a step
  // lists the workspace, pkg/workspace/apply.go mountAsIsolatedWorkspace mounts it into the
  // steps that list it only, so set-image (kubectl) never sees the write key.
  const gitWriteOnly = [{ name: WORKSPACES.gitWrite }];
  return {
    apiVersion: "tekton.dev/v1",
    kind: "Task",
    metadata: taskMetadata(app, TASK_NAMES.patch),
    spec: {
      description:
        "Sets the container's image, by digest, in the operations repository's Deployment and " +
        "pushes the change with the write deploy key (retrying when others pushed first).",
      params: [
        stringParam(TASK_PARAMS.operationsUrl, "SSH URL of the operations repository"),
        stringParam(
          TASK_PARAMS.operationsBranch,
          "Branch to commit to and push; empty: the repository's default branch",
        ),
        stringParam(TASK_PARAMS.deploymentFile, "Deployment manifest, relative to its root"),
        stringParam(TASK_PARAMS.containerName, "Container whose image is set"),
        stringParam(TASK_PARAMS.imageUrl, "<registry>/<repository>:<tag> that was pushed"),
        stringParam(TASK_PARAMS.imageDigest, "sha256:... digest of the pushed image"),
        stringParam(
          TASK_PARAMS.commitSha,
          "Source commit: ordered against the deployed one, named in the commit message",
        ),
      ],
      workspaces: [
        { name: WORKSPACES.operations, description: "Scratch space for the operations checkout" },
        {
          name: WORKSPACES.source,
          description: "The tag task's checkout: the commit's history and the branch tip",
          readOnly: true,
        },
        {
          name: WORKSPACES.gitWrite,
          description: "Secret git-write: ssh-privatekey and known_hosts",
          readOnly: true,
        },
      ],
      stepTemplate: nonRootStepTemplate,
      steps: [
        {
          name: "clone",
          image: ctx.images.git,
          env: [
            env("OPERATIONS_URL", param(TASK_PARAMS.operationsUrl)),
            env("OPERATIONS_BRANCH", param(TASK_PARAMS.operationsBranch)),
            deploymentFileEnv,
            ...filesEnv,
            ...sshEnv(),
          ],
          workspaces: gitWriteOnly,
          script: CLONE_OPERATIONS_SCRIPT,
        },
        {
          name: "set-image",
          image: ctx.images.kubectl,
          env: [
            deploymentFileEnv,
            env("CONTAINER_NAME", param(TASK_PARAMS.containerName)),
            ...imageEnv,
            ...filesEnv,
          ],
          script: SET_IMAGE_SCRIPT,
        },
        {
          name: "commit-and-push",
          image: ctx.images.git,
          env: [
            deploymentFileEnv,
            env("COMMIT_SHA", param(TASK_PARAMS.commitSha)),
            ...imageEnv,
            ...filesEnv,
            env("SOURCE", `${workspacePath(WORKSPACES.source)}/${SOURCE_CHECKOUT_DIR}`),
            env("PUSH_ATTEMPTS", PUSH_ATTEMPTS),
            env("GIT_AUTHOR_NAME", COMMIT_IDENTITY.name),
            env("GIT_AUTHOR_EMAIL", COMMIT_IDENTITY.email),
            env("GIT_COMMITTER_NAME", COMMIT_IDENTITY.name),
            env("GIT_COMMITTER_EMAIL", COMMIT_IDENTITY.email),
            ...sshEnv(),
          ],
          workspaces: gitWriteOnly,
          script: COMMIT_AND_PUSH_SCRIPT,
        },
      ],
    },
  };
}
