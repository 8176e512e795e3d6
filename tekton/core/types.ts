// Plain manifest types for the build pipeline's objects (tekton.dev/v1 Task and Pipeline). No
// Pulumi types: builders return these, the render script writes them as YAML and the component
// wraps them in CustomResources. Only the fields the stack sets are typed.

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A param a Task or Pipeline declares. Every param here is a string. */
export interface ParamSpec {
  name: string;
  type: "string";
  description?: string;
  default?: string;
}

/** A param value passed to a Task by a Pipeline. */
export interface Param {
  name: string;
  value: string;
}

export interface EnvVar {
  name: string;
  value: string;
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: "RuntimeDefault" };
}

export interface Step {
  name: string;
  image: string;
  /** A script; starts with a hashbang. Params never appear in it: they come in through `env`. */
  script?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  securityContext?: SecurityContext;
  /**
   * Task workspaces only this step mounts (Tekton v1 `Step.workspaces`, beta, on by default):
   * once any step lists a workspace, steps that do not list it never see it.
   */
  workspaces?: { name: string }[];
  computeResources?: ComputeResources;
  /** `continue`: a non-zero exit is recorded, the TaskRun still succeeds (Tekton v1 Step). */
  onError?: "continue" | "stopAndFail";
}

/** Kubernetes ResourceRequirements, as quantities (e.g. "512Mi", "1", "500m"). */
export interface ComputeResources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface StepTemplate {
  env?: EnvVar[];
  securityContext?: SecurityContext;
}

export interface TaskResult {
  name: string;
  type: "string";
  description?: string;
}

export interface WorkspaceDeclaration {
  name: string;
  description?: string;
  readOnly?: boolean;
  optional?: boolean;
}

/** tekton.dev/v1 Task. */
export interface Task {
  apiVersion: "tekton.dev/v1";
  kind: "Task";
  metadata: ObjectMeta;
  spec: {
    description?: string;
    params: ParamSpec[];
    results?: TaskResult[];
    workspaces: WorkspaceDeclaration[];
    stepTemplate?: StepTemplate;
    steps: Step[];
  };
}

export interface WorkspacePipelineTaskBinding {
  /** The workspace name the Task declares. */
  name: string;
  /** The Pipeline workspace bound to it. */
  workspace: string;
}

export interface PipelineTask {
  name: string;
  taskRef: { name: string; kind: "Task" };
  runAfter?: string[];
  /** `continue`: this task failing neither stops nor fails the run (Tekton v1 PipelineTask). */
  onError?: "continue" | "stopAndFail";
  params: Param[];
  workspaces: WorkspacePipelineTaskBinding[];
  /** Go duration bounding this task's TaskRun. */
  timeout?: string;
}

export interface PipelineResult {
  name: string;
  type: "string";
  description?: string;
  value: string;
}

/** tekton.dev/v1 Pipeline. */
export interface Pipeline {
  apiVersion: "tekton.dev/v1";
  kind: "Pipeline";
  metadata: ObjectMeta;
  spec: {
    description?: string;
    params: ParamSpec[];
    workspaces: WorkspaceDeclaration[];
    tasks: PipelineTask[];
    /** Tasks run once the DAG is done, whatever its outcome (no runAfter allowed). */
    finally?: PipelineTask[];
    results?: PipelineResult[];
  };
}

/** Any Tekton object the build pipeline consists of. */
export type BuildManifest = Task | Pipeline;
