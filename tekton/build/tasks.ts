// The app's Tasks, in pipeline order: generate-image-tag (tagTask.ts), build-and-push
// (buildTask.ts), patch-deployment (patchTask.ts), then report-build-status
// (tekton/status) and cancel-superseded (tekton/cancel) when the app turns them on. Pure builders
// of plain tekton.dev/v1 manifests: params reach scripts only through `env` (a crafted value must
// never become shell code), images come from config (pinned), nothing talks to a cluster.
import { AppConfig } from "../../config/schema";
import { reportBuildStatusTask } from "../status/statusTasks";
import { cancelTasks } from "../cancel/cancelTask";
import { Task } from "../core/types";
import { buildAndPushTask } from "./buildTask";
import { BuildContext } from "./context";
import { patchDeploymentTask } from "./patchTask";
import { generateImageTagTask } from "./tagTask";

/** The app's Tasks: tag, build, patch in pipeline order, then the status and cancel Tasks when on. */
export function buildTasks(app: AppConfig, ctx: BuildContext): Task[] {
  return [
    generateImageTagTask(app, ctx),
    buildAndPushTask(app, ctx),
    patchDeploymentTask(app, ctx),
    ...(app.statusReporting.enabled ? [reportBuildStatusTask(app, ctx)] : []),
    ...cancelTasks(app, ctx.images),
  ];
}
