// A merge request's build: the Pipeline `build-<app>-merge-request` and the Tasks only it runs.
// It fetches the merge request's head from refs/merge-requests/<iid>/head with the read-only
// key, builds it with Kaniko (no push, or only its `mr-` tag) and reports on the merge request.
// Nothing of it can deploy: no task binds `git-write` or touches the operations repository.
import * as path from "node:path";
import { AppConfig } from "../../config/schema";
import { appLabels, PIPELINE_PARAMS, WORKSPACES } from "../core/names";
import { readScript } from "../core/scripts";
import { nonRootStepTemplate, STEP_HOME, stringParam, taskMetadata } from "../core/steps";
import {
  Param,
  ParamSpec,
  Pipeline,
  PipelineTask,
  Task,
  WorkspaceDeclaration,
} from "../core/types";
import { env, param, workspacePath } from "../core/variables";
import { buildAndPushTask, MERGE_REQUEST_DIGEST_RESULT } from "../build/buildTask";
import { BuildContext } from "../build/context";
import {
  checkoutWorkspaces,
  SOURCE_CHECKOUT_DIR,
  sshKeyEnv,
  TASK_PARAMS,
  TASK_RESULTS,
} from "../build/common";
import {
  imageParams,
  kanikoPipelineTask,
  pipelineWorkspaces,
  WORKSPACE_DESCRIPTIONS,
} from "../build/pipeline";
import {
  FAILURE_DETAIL_FILE,
  reportBuildStatusTask,
  statusPipelineTasks,
  StatusVariant,
} from "../status/statusTasks";
import { cancelPipelineTasks, CANCEL_PARAMS } from "../cancel/cancelTask";
import { mergeRequestSelector } from "./runs";

/** Names of a merge request build's objects: part of the stack's contract. */
export const MERGE_REQUEST_TASKS = {
  fetch: "fetch-merge-request",
  build: "build-merge-request",
  status: "report-merge-request-status",
} as const;

/** Params a merge request's run supplies besides `source-url` and `revision`. */
export const MERGE_REQUEST_PARAMS = {
  iid: "merge-request-iid",
  sourceBranch: TASK_PARAMS.sourceBranch,
  push: "push",
} as const;

export function mergeRequestPipelineName(app: Pick<AppConfig, "name">): string {
  return `build-${app.name}-merge-request`;
}

/** The commit status name on the merge request: the push build's, `/merge-request` added. */
export function mergeRequestStatusName(app: AppConfig): string | undefined {
  return app.statusReporting.enabled ? `${app.statusReporting.context}/merge-request` : undefined;
}

/**
 * The identity of the status task that reads the run's TaskRuns (get and list, nothing else, in
 * the build namespace: tekton/mergeRequest/rbac.ts) to name the failed step.
 */
export const STATUS_READER_SERVICE_ACCOUNT = "tekton-status-reader";

/**
 * The Pipeline's workspaces: the push build's without `operations` and `git-write`, so no
 * merge request run can even be given the operations key, and with `docker-config` only when
 * `mergeRequests.registrySecretName` names the Secret to bind to it.
 */
export function mergeRequestWorkspaces(
  ctx: Pick<BuildContext, "registry" | "gitlab">,
  app: AppConfig,
): string[] {
  const notHere: string[] = [WORKSPACES.operations, WORKSPACES.gitWrite, WORKSPACES.dockerConfig];
  const [source, gitPull, ...rest] = pipelineWorkspaces(ctx, app).filter(
    (name) => !notHere.includes(name),
  );
  // Never the push build's registry credentials by default: a merge request's RUN lines can
  // read what Kaniko mounts.
  const credentials =
    app.mergeRequests.registrySecretName === undefined ? [] : [WORKSPACES.dockerConfig];
  return [source, gitPull, ...credentials, ...rest];
}

const FETCH_SCRIPT = readScript(path.join(__dirname, "scripts"), "fetch-merge-request.sh");
const DESCRIBE_FAILURE_SCRIPT = readScript(path.join(__dirname, "scripts"), "describe-failure.sh");

/** Fetches the merge request's commit from its head ref and names its `mr-` image. */
export function fetchMergeRequestTask(app: AppConfig, ctx: BuildContext): Task {
  return {
    apiVersion: "tekton.dev/v1",
    kind: "Task",
    metadata: taskMetadata(app, MERGE_REQUEST_TASKS.fetch),
    spec: {
      description:
        "Fetches a merge request's commit from refs/merge-requests/<iid>/head (failing when " +
        "the ref does not lead to it) and names its image <registry>/<repository>:mr-<iid>-<sha>.",
      params: [
        stringParam(TASK_PARAMS.sourceUrl, "SSH URL of the source repository"),
        stringParam(TASK_PARAMS.revision, "The full commit SHA to build"),
        stringParam(MERGE_REQUEST_PARAMS.iid, "The merge request's number in the project (iid)"),
        stringParam(TASK_PARAMS.registryHost, "Registry host[:port] of the image"),
        stringParam(TASK_PARAMS.imageRepository, "Image repository path under the registry"),
        stringParam(MERGE_REQUEST_PARAMS.push, "true when the image is pushed (for the log)"),
      ],
      results: [
        {
          name: TASK_RESULTS.imageUrl,
          type: "string",
          description: "<registry>/<repository>:mr-<iid>-<first 12 hex of the commit>",
        },
        { name: TASK_RESULTS.commitSha, type: "string", description: "The checked-out commit" },
      ],
      workspaces: checkoutWorkspaces(),
      stepTemplate: nonRootStepTemplate,
      steps: [
        {
          name: "fetch",
          image: ctx.images.git,
          env: [
            env("SOURCE_URL", param(TASK_PARAMS.sourceUrl)),
            env("REVISION", param(TASK_PARAMS.revision)),
            env("MERGE_REQUEST_IID", param(MERGE_REQUEST_PARAMS.iid)),
            env("REGISTRY_HOST", param(TASK_PARAMS.registryHost)),
            env("IMAGE_REPOSITORY", param(TASK_PARAMS.imageRepository)),
            env("PUSH", param(MERGE_REQUEST_PARAMS.push)),
            env("CHECKOUT", `${workspacePath(WORKSPACES.source)}/${SOURCE_CHECKOUT_DIR}`),
            ...sshKeyEnv(WORKSPACES.gitPull),
          ],
          script: FETCH_SCRIPT,
        },
      ],
    },
  };
}

/** Kaniko for a merge request: `--no-push`, or only the `mr-` tag; never the layer cache. */
export function buildMergeRequestTask(app: AppConfig, ctx: BuildContext): Task {
  return buildAndPushTask(app, ctx, {
    kind: "merge-request",
    taskName: MERGE_REQUEST_TASKS.build,
    push: app.mergeRequests.push,
    credentials: app.mergeRequests.registrySecretName !== undefined,
  });
}

const DESCRIBE_PARAMS = {
  pipelineRun: CANCEL_PARAMS.pipelineRun,
  namespace: CANCEL_PARAMS.namespace,
  buildTasks: "build-tasks",
} as const;

/**
 * The status variant of a merge request: its own status name, and a first step that reads the
 * run's TaskRuns for the failed step (scripts/describe-failure.sh, bash and jq in the kubectl
 * image). Tekton Pipelines v1.15.0 pkg/apis/pipeline/v1/taskrun_types.go: a TaskRun's
 * `status.conditions` (type Succeeded, False when it failed, reason TaskRunCancelled when it was
 * cancelled), `status.steps[]` (`StepState`: `name`, the container's `terminated.exitCode` and
 * `terminated.reason`, and `terminationReason`, "TimeoutExceeded" for a step out of time, and
 * "TaskRunTimeout" for the step a timed-out TaskRun stopped: pkg/reconciler/taskrun/taskrun.go
 * `terminateStepsInPod`) and
 * `status.completionTime`; the label `tekton.dev/pipelineTask` (pkg/apis/pipeline/register.go
 * `PipelineTaskLabelKey`) and `tekton.dev/pipelineRun` select the run's TaskRuns.
 */
function mergeRequestStatusVariant(app: AppConfig, ctx: BuildContext): StatusVariant {
  const buildTasks = [MERGE_REQUEST_TASKS.fetch, MERGE_REQUEST_TASKS.build];
  return {
    taskName: MERGE_REQUEST_TASKS.status,
    statusName: mergeRequestStatusName(app) ?? "",
    pipeline: mergeRequestPipelineName(app),
    describeStep: {
      name: "describe-failure",
      image: ctx.images.kubectl,
      env: [
        env("HOME", STEP_HOME),
        env("REPORT", "$(params.report)"),
        env("PIPELINE_RUN", param(DESCRIBE_PARAMS.pipelineRun)),
        env("NAMESPACE", param(DESCRIBE_PARAMS.namespace)),
        env("BUILD_TASKS", param(DESCRIBE_PARAMS.buildTasks)),
        env("FAILURE_DETAIL_FILE", FAILURE_DETAIL_FILE),
      ],
      securityContext: nonRootStepTemplate.securityContext,
      // Whatever happens here, the post step runs and the status names at least the task.
      onError: "continue",
      script: DESCRIBE_FAILURE_SCRIPT,
    },
    describeParams: [
      stringParam(DESCRIBE_PARAMS.pipelineRun, "This task's own run, whose TaskRuns are read", ""),
      stringParam(DESCRIBE_PARAMS.namespace, "The run's namespace", ""),
      stringParam(DESCRIBE_PARAMS.buildTasks, "The pipeline tasks a failure is looked for in", ""),
    ],
    describeArgs: [
      { name: DESCRIBE_PARAMS.pipelineRun, value: "$(context.pipelineRun.name)" },
      { name: DESCRIBE_PARAMS.namespace, value: "$(context.pipelineRun.namespace)" },
      { name: DESCRIBE_PARAMS.buildTasks, value: buildTasks.join(" ") },
    ],
    successDescription: app.mergeRequests.push
      ? "Built and pushed its mr- tag; nothing deployed"
      : "Built, not pushed; nothing deployed",
  };
}

/** The Tasks only a merge request build runs (it shares cancel-superseded with the push build). */
export function mergeRequestTasks(app: AppConfig, ctx: BuildContext): Task[] {
  if (!app.mergeRequests.build) return [];
  return [
    fetchMergeRequestTask(app, ctx),
    buildMergeRequestTask(app, ctx),
    ...(app.statusReporting.enabled
      ? [reportBuildStatusTask(app, ctx, mergeRequestStatusVariant(app, ctx))]
      : []),
  ];
}

const ref = (name: string) => `$(params.${name})`;
const pass = (name: string, value = ref(name)): Param => ({ name, value });

/** The Pipeline `build-<app>-merge-request`: fetch -> build, status and cancel beside them. */
export function mergeRequestPipeline(app: AppConfig, ctx: BuildContext): Pipeline {
  const workspaces = mergeRequestWorkspaces(ctx, app);
  const push = app.mergeRequests.push;
  const params: ParamSpec[] = [
    { name: PIPELINE_PARAMS.sourceUrl, type: "string", description: "SSH URL of the source repo" },
    { name: PIPELINE_PARAMS.revision, type: "string", description: "The commit SHA to build" },
    {
      name: MERGE_REQUEST_PARAMS.iid,
      type: "string",
      description: "The merge request's number in the source project (iid)",
    },
    {
      name: MERGE_REQUEST_PARAMS.sourceBranch,
      type: "string",
      description: "The merge request's source branch (the ref of its commit status)",
    },
    ...imageParams(app, ctx),
  ];

  const fetch: PipelineTask = {
    name: MERGE_REQUEST_TASKS.fetch,
    taskRef: { name: MERGE_REQUEST_TASKS.fetch, kind: "Task" },
    params: [
      pass(TASK_PARAMS.sourceUrl),
      pass(TASK_PARAMS.revision),
      pass(MERGE_REQUEST_PARAMS.iid),
      pass(TASK_PARAMS.registryHost),
      pass(TASK_PARAMS.imageRepository),
      pass(MERGE_REQUEST_PARAMS.push, String(push)),
    ],
    workspaces: [
      { name: WORKSPACES.source, workspace: WORKSPACES.source },
      { name: WORKSPACES.gitPull, workspace: WORKSPACES.gitPull },
    ],
  };
  const build = kanikoPipelineTask(app, ctx, {
    name: MERGE_REQUEST_TASKS.build,
    after: MERGE_REQUEST_TASKS.fetch,
    imageUrl: push
      ? `$(tasks.${MERGE_REQUEST_TASKS.fetch}.results.${TASK_RESULTS.imageUrl})`
      : undefined,
    workspaces,
  });
  const tasks = [fetch, build];
  const status = statusPipelineTasks(
    app,
    ctx,
    tasks.map((t) => t.name),
    MERGE_REQUEST_PARAMS.sourceBranch,
    PIPELINE_PARAMS.revision,
    mergeRequestStatusVariant(app, ctx),
  );
  // The push build's cancel task, selecting this merge request's runs only.
  const cancel = cancelPipelineTasks(app).map((task) => ({
    ...task,
    params: task.params.map((p) =>
      p.name === CANCEL_PARAMS.selector
        ? { ...p, value: mergeRequestSelector(app, ref(MERGE_REQUEST_PARAMS.iid)) }
        : p,
    ),
  }));
  const fetched = `$(tasks.${MERGE_REQUEST_TASKS.fetch}.results`;
  const built = `$(tasks.${MERGE_REQUEST_TASKS.build}.results`;

  return {
    apiVersion: "tekton.dev/v1",
    kind: "Pipeline",
    metadata: {
      name: mergeRequestPipelineName(app),
      namespace: app.namespace,
      labels: appLabels(app),
    },
    spec: {
      description:
        `Builds merge requests of ${app.sourceProject} from its own branches ` +
        (push ? "and pushes their mr- tags; " : "without pushing; ") +
        "never deploys.",
      params,
      workspaces: workspaces.map((name): WorkspaceDeclaration => ({
        name,
        description:
          name === WORKSPACES.source
            ? "Source checkout: written by fetch-merge-request, read by build-merge-request (a PVC)"
            : WORKSPACE_DESCRIPTIONS[name],
      })),
      tasks: [...tasks, ...cancel, ...(status ? [status.running] : [])],
      ...(status ? { finally: [status.result] } : {}),
      results: [
        {
          name: TASK_RESULTS.commitSha,
          type: "string",
          description: "The merge request commit that was built",
          value: `${fetched}.${TASK_RESULTS.commitSha})`,
        },
        // Not IMAGE_URL / IMAGE_DIGEST: Tekton Chains must not sign a merge request's image.
        ...(push
          ? [
              {
                name: TASK_RESULTS.imageUrl,
                type: "string" as const,
                description: "The pushed image, <registry>/<repository>:mr-<iid>-<sha> (unsigned)",
                value: `${fetched}.${TASK_RESULTS.imageUrl})`,
              },
              {
                name: TASK_PARAMS.imageDigest,
                type: "string" as const,
                description: "The pushed image's digest, sha256:...",
                value: `${built}.${MERGE_REQUEST_DIGEST_RESULT})`,
              },
            ]
          : []),
      ],
    },
  };
}
