// The app's Pipeline `build-<app>`: tag -> build -> patch. The trigger supplies the clone URLs
// and the commit; everything else defaults from config and can be overridden per run.
import { AppConfig } from "../../config/schema";
import { appLabels, PIPELINE_PARAMS, pipelineName, WORKSPACES } from "../core/names";
import { BUILD_RESULTS, TASK_NAMES, TASK_PARAMS, TASK_RESULTS } from "./common";
import { BuildContext } from "./context";
import { buildTakesRegistryHost, cacheRepository } from "./buildTask";
import { statusPipelineTasks, statusWorkspaces } from "../status/statusTasks";
import { cancelPipelineTasks } from "../cancel/cancelTask";
import { Param, ParamSpec, Pipeline, PipelineTask, WorkspaceDeclaration } from "../core/types";

/**
 * Pipeline results: tiny on purpose (results travel in the ~4 KB termination message). The
 * image as Tekton Chains reads a PipelineRun's results (tektoncd/chains v0.29.2
 * pkg/chains/formats/slsa/extract/extract.go: results with the IMAGE_URL / IMAGE_DIGEST
 * type-hint suffix are the run's subjects).
 */
export const PIPELINE_RESULTS = {
  imageUrl: BUILD_RESULTS.imageUrl,
  imageDigest: BUILD_RESULTS.imageDigest,
  commitSha: "commit-sha",
} as const;

/**
 * The workspaces the Pipeline declares, in order. The PipelineRun (TriggerTemplate) binds
 * exactly these: `source` to a volumeClaimTemplate, `operations` to an emptyDir (the affinity
 * assistant allows only one PVC-backed workspace per TaskRun), `git-pull-ssh` to Secret
 * git-pull (tag task only), `git-write-ssh` to Secret git-write (patch task only), and, when configured, `docker-config` to the registry Secret (key
 * `.dockerconfigjson` as `config.json`) and `registry-ca` to the CA ConfigMap.
 */
export function pipelineWorkspaces(
  ctx: Pick<BuildContext, "registry" | "gitlab">,
  app?: AppConfig,
): string[] {
  const names: string[] = [
    WORKSPACES.source,
    WORKSPACES.operations,
    WORKSPACES.gitPull,
    WORKSPACES.gitWrite,
  ];
  if (ctx.registry.username !== undefined) names.push(WORKSPACES.dockerConfig);
  if (ctx.registry.caCert !== undefined) names.push(WORKSPACES.registryCa);
  // The GitLab status token (and GitLab's CA): bound to the status tasks only.
  if (app !== undefined) names.push(...statusWorkspaces(app, ctx));
  return names;
}

export const WORKSPACE_DESCRIPTIONS: Record<string, string> = {
  [WORKSPACES.source]:
    "Source checkout: written by the tag task, read by the build and patch tasks (a PVC)",
  [WORKSPACES.operations]: "Scratch space for the operations checkout (an emptyDir)",
  [WORKSPACES.gitPull]: "Secret git-pull: the read-only source key and known_hosts",
  [WORKSPACES.gitWrite]: "Secret git-write: the operations push key and known_hosts",
  [WORKSPACES.dockerConfig]: "Registry credentials as config.json",
  [WORKSPACES.registryCa]: "ConfigMap with the registry's CA bundle",
  [WORKSPACES.statusToken]:
    "Secret with the GitLab token the status tasks post with (only they mount it)",
  [WORKSPACES.gitlabCa]: "ConfigMap with GitLab's CA, for the status tasks",
};

const ref = (name: string) => `$(params.${name})`;
const result = (task: string, name: string) => `$(tasks.${task}.results.${name})`;
const pass = (name: string, value = ref(name)): Param => ({ name, value });

/**
 * The params naming the image and how to build it, defaults from config: the push build's
 * Pipeline and a merge request's (tekton/mergeRequest) declare the same.
 */
export function imageParams(app: AppConfig, ctx: Pick<BuildContext, "registry">): ParamSpec[] {
  return [
    {
      name: TASK_PARAMS.registryHost,
      type: "string",
      description: "Registry host[:port] the image is pushed to",
      default: ctx.registry.host,
    },
    {
      name: TASK_PARAMS.imageRepository,
      type: "string",
      description: "Image repository path under the registry",
      default: app.imageRepository,
    },
    {
      name: TASK_PARAMS.dockerfile,
      type: "string",
      description: "Dockerfile path, relative to the source repository root",
      default: app.dockerfile,
    },
    {
      name: TASK_PARAMS.contextDir,
      type: "string",
      description: "Build context directory, relative to the source repository root",
      default: app.contextDir,
    },
    ...(app.build.cache.enabled
      ? [
          {
            name: TASK_PARAMS.cacheRepository,
            type: "string" as const,
            description: "Repository path under the registry for Kaniko's layer cache",
            default: cacheRepository(app),
          },
        ]
      : []),
  ];
}

/**
 * The Kaniko task of a Pipeline (the push build's `build-and-push`, a merge request's
 * `build-merge-request`): after `after`, with the image URL it pushes (none: it pushes nothing)
 * and the registry workspaces among the Pipeline's `workspaces`.
 */
export function kanikoPipelineTask(
  app: AppConfig,
  ctx: Pick<BuildContext, "registry">,
  task: { name: string; after: string; imageUrl?: string; workspaces: string[] },
): PipelineTask {
  const bindIfDeclared = (name: string) =>
    task.workspaces.includes(name) ? [{ name, workspace: name }] : [];
  return {
    name: task.name,
    taskRef: { name: task.name, kind: "Task" },
    runAfter: [task.after],
    params: [
      ...(task.imageUrl === undefined ? [] : [pass(TASK_PARAMS.imageUrl, task.imageUrl)]),
      pass(TASK_PARAMS.dockerfile),
      pass(TASK_PARAMS.contextDir),
      ...(buildTakesRegistryHost(ctx.registry, app) ? [pass(TASK_PARAMS.registryHost)] : []),
      ...(app.build.cache.enabled ? [pass(TASK_PARAMS.cacheRepository)] : []),
    ],
    workspaces: [
      { name: WORKSPACES.source, workspace: WORKSPACES.source },
      ...bindIfDeclared(WORKSPACES.dockerConfig),
      ...bindIfDeclared(WORKSPACES.registryCa),
    ],
  };
}

export function buildPipeline(app: AppConfig, ctx: BuildContext): Pipeline {
  const workspaces = pipelineWorkspaces(ctx, app);

  const params: ParamSpec[] = [
    { name: PIPELINE_PARAMS.sourceUrl, type: "string", description: "SSH URL of the source repo" },
    { name: PIPELINE_PARAMS.revision, type: "string", description: "The commit SHA to build" },
    {
      name: PIPELINE_PARAMS.operationsUrl,
      type: "string",
      description: "SSH URL of the operations repository",
    },
    {
      name: TASK_PARAMS.sourceBranch,
      type: "string",
      description: "The branch builds come from (its tip orders commits for the patch task)",
      default: app.branch,
    },
    ...imageParams(app, ctx),
    {
      name: TASK_PARAMS.operationsBranch,
      type: "string",
      description: "Branch of the operations repository to commit to; empty: its default branch",
      default: app.operationsBranch ?? "",
    },
    {
      name: TASK_PARAMS.deploymentFile,
      type: "string",
      description: "Deployment manifest in the operations repository",
      default: app.deploymentFile,
    },
    {
      name: TASK_PARAMS.containerName,
      type: "string",
      description: "Container of the Deployment whose image is set",
      default: app.containerName,
    },
  ];

  const tag: PipelineTask = {
    name: TASK_NAMES.tag,
    taskRef: { name: TASK_NAMES.tag, kind: "Task" },
    params: [
      pass(TASK_PARAMS.sourceUrl),
      pass(TASK_PARAMS.revision),
      pass(TASK_PARAMS.sourceBranch),
      pass(TASK_PARAMS.registryHost),
      pass(TASK_PARAMS.imageRepository),
    ],
    workspaces: [
      { name: WORKSPACES.source, workspace: WORKSPACES.source },
      { name: WORKSPACES.gitPull, workspace: WORKSPACES.gitPull },
    ],
  };

  const build = kanikoPipelineTask(app, ctx, {
    name: TASK_NAMES.build,
    after: TASK_NAMES.tag,
    imageUrl: result(TASK_NAMES.tag, TASK_RESULTS.imageUrl),
    workspaces,
  });

  // runAfter the build, not only its digest result: the manifest must never name an image that
  // has not been pushed yet (the book's pipeline raced here).
  const patch: PipelineTask = {
    name: TASK_NAMES.patch,
    taskRef: { name: TASK_NAMES.patch, kind: "Task" },
    runAfter: [TASK_NAMES.build],
    params: [
      pass(TASK_PARAMS.operationsUrl),
      pass(TASK_PARAMS.operationsBranch),
      pass(TASK_PARAMS.deploymentFile),
      pass(TASK_PARAMS.containerName),
      pass(TASK_PARAMS.imageUrl, result(TASK_NAMES.build, BUILD_RESULTS.imageUrl)),
      pass(TASK_PARAMS.imageDigest, result(TASK_NAMES.build, BUILD_RESULTS.imageDigest)),
      pass(TASK_PARAMS.commitSha, result(TASK_NAMES.tag, TASK_RESULTS.commitSha)),
    ],
    workspaces: [
      { name: WORKSPACES.operations, workspace: WORKSPACES.operations },
      // Read only: the tag task's checkout orders this commit against the deployed one.
      { name: WORKSPACES.source, workspace: WORKSPACES.source },
      { name: WORKSPACES.gitWrite, workspace: WORKSPACES.gitWrite },
    ],
  };

  const tasks = [tag, build, patch];
  // Beside the first task (no runAfter), and a finally task reading how the others ended.
  const status = statusPipelineTasks(
    app,
    ctx,
    tasks.map((t) => t.name),
    TASK_PARAMS.sourceBranch,
    PIPELINE_PARAMS.revision,
  );

  return {
    apiVersion: "tekton.dev/v1",
    kind: "Pipeline",
    metadata: { name: pipelineName(app), namespace: app.namespace, labels: appLabels(app) },
    spec: {
      description: `Builds ${app.sourceProject} and deploys it through ${app.operationsProject}.`,
      params,
      workspaces: workspaces.map((name): WorkspaceDeclaration => ({
        name,
        description: WORKSPACE_DESCRIPTIONS[name],
      })),
      // cancel-superseded (tekton/cancel/cancelTask.ts) and report-running have no runAfter: they run
      // beside the tag task. The status is computed from the three build tasks only: a cancel
      // task that could not run must not turn a good build red.
      tasks: [...tasks, ...cancelPipelineTasks(app), ...(status ? [status.running] : [])],
      ...(status ? { finally: [status.result] } : {}),
      results: [
        {
          name: PIPELINE_RESULTS.imageUrl,
          type: "string",
          description: "The pushed image, <registry>/<repository>:<tag>",
          value: result(TASK_NAMES.build, BUILD_RESULTS.imageUrl),
        },
        {
          name: PIPELINE_RESULTS.imageDigest,
          type: "string",
          description: "The pushed image's digest, sha256:...",
          value: result(TASK_NAMES.build, BUILD_RESULTS.imageDigest),
        },
        {
          name: PIPELINE_RESULTS.commitSha,
          type: "string",
          description: "The source commit that was built",
          value: result(TASK_NAMES.tag, TASK_RESULTS.commitSha),
        },
      ],
    },
  };
}
