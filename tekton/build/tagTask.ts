// generate-image-tag: fetches the pushed commit (with its history and the branch tip) into the
// source workspace and names its image. Its script is scripts/tag.sh.
import * as path from "node:path";
import { AppConfig } from "../../config/schema";
import { WORKSPACES } from "../core/names";
import { readScript } from "../core/scripts";
import { nonRootStepTemplate, stringParam, taskMetadata } from "../core/steps";
import { Task } from "../core/types";
import { env, param, workspacePath } from "../core/variables";
import { BuildContext } from "./context";
import {
  checkoutWorkspaces,
  SOURCE_CHECKOUT_DIR,
  sshKeyEnv,
  TASK_NAMES,
  TASK_PARAMS,
  TASK_RESULTS,
} from "./common";

/**
 * git's own words when a server refuses to send a commit by id: the client's fetch-pack.c
 * `report_unmatched_refs` ("Server does not allow request for unadvertised object <id>", protocol
 * v0, before asking) and the server's upload-pack.c `check_non_tip`/`receive_needs` (v0) and
 * `parse_want` (v2) ("upload-pack: not our ref <id>", shown as "fatal: remote error: upload-pack:
 * not our ref"). Only these fall back to fetching the branches; any other failure (host key,
 * deploy key, network, a deleted branch) is reported as git said it.
 */
export const FETCH_REFUSED_PATTERN = "not our ref|does not allow request for unadvertised object";

const TAG_SCRIPT = readScript(path.join(__dirname, "scripts"), "tag.sh");

/** Clones `source-url` at exactly `revision` and names the image it will become. */
export function generateImageTagTask(app: AppConfig, ctx: BuildContext): Task {
  return {
    apiVersion: "tekton.dev/v1",
    kind: "Task",
    metadata: taskMetadata(app, TASK_NAMES.tag),
    spec: {
      description:
        "Fetches the pushed commit with its history and the branch tip into the source " +
        "workspace and names its image <registry>/<repository>:<committer date>-<commit sha>.",
      params: [
        stringParam(TASK_PARAMS.sourceUrl, "SSH URL of the source repository"),
        stringParam(TASK_PARAMS.revision, "The full commit SHA to build"),
        stringParam(TASK_PARAMS.sourceBranch, "The branch the commit was pushed to"),
        stringParam(TASK_PARAMS.registryHost, "Registry host[:port] the image is pushed to"),
        stringParam(TASK_PARAMS.imageRepository, "Image repository path under the registry"),
      ],
      results: [
        {
          name: TASK_RESULTS.imageUrl,
          type: "string",
          description: "<registry>/<repository>:<tag> of the image to build",
        },
        { name: TASK_RESULTS.commitSha, type: "string", description: "The checked-out commit" },
      ],
      workspaces: checkoutWorkspaces(),
      stepTemplate: nonRootStepTemplate,
      steps: [
        {
          name: "clone-and-tag",
          image: ctx.images.git,
          env: [
            env("SOURCE_URL", param(TASK_PARAMS.sourceUrl)),
            env("REVISION", param(TASK_PARAMS.revision)),
            env("SOURCE_BRANCH", param(TASK_PARAMS.sourceBranch)),
            env("REGISTRY_HOST", param(TASK_PARAMS.registryHost)),
            env("IMAGE_REPOSITORY", param(TASK_PARAMS.imageRepository)),
            // Tekton substitutes it (pkg/reconciler/taskrun/resources/apply.go,
            // getContextReplacements, v1.15.0).
            env("RUN_UID", "$(context.taskRun.uid)"),
            // A subdirectory the step creates is owned by the step's UID, whoever owns the
            // volume root (git refuses a repository owned by another UID: "dubious ownership").
            env("CHECKOUT", `${workspacePath(WORKSPACES.source)}/${SOURCE_CHECKOUT_DIR}`),
            ...sshKeyEnv(WORKSPACES.gitPull),
          ],
          script: TAG_SCRIPT,
        },
      ],
    },
  };
}
