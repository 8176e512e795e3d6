// Tekton's variable substitution, as Tekton Pipelines v1.15.0 does it, for the variables our
// objects use. Tekton replaces `$(<key>)` for each key it knows and leaves everything else as
// written (knative.dev/pkg apis `substitution.ApplyReplacements`); the rehearsal additionally
// refuses a Tekton-looking reference that nothing resolved, which admission would have
// rejected.
//
// Keys, and where Tekton builds them:
// - `params.<name>`, `params["<name>"]`, `params['<name>']`: TaskRun params over the Task's
//   defaults (pkg/reconciler/taskrun/resources/apply.go `ApplyParameters`,
//   `replacementsFromDefaultParams`, `replacementsFromParams`); the Pipeline's the same way
//   (pkg/reconciler/pipelinerun/resources/apply.go `ApplyParameters`).
// - `context.taskRun.name|namespace|uid`, `context.task.name`, `context.task.retry-count`
//   (taskrun/resources/apply.go `getContextReplacements`); `context.pipelineRun.name|namespace|uid`,
//   `context.pipeline.name` (pipelinerun/resources/apply.go `GetContextReplacements`).
// - `workspaces.<name>.path` (taskrun/resources/apply.go `ApplyWorkspaces`; the path is the
//   declaration's mountPath or /workspace/<name>, here the host directory standing for it).
// - `results.<name>.path` -> /tekton/results/<name> (`ApplyResults`, `getTaskResultReplacements`).
// - `credentials.path` -> /tekton/creds (`ApplyCredentialsPath`).
// - `tasks.<task>.results.<name>` in pipeline task params and pipeline results
//   (pipelinerun/resources/apply.go `ApplyTaskResults`, `ApplyTaskResultsToPipelineResults`).

export type Replacements = Record<string, string>;

/** The three spellings Tekton accepts for `<prefix>.<name>`. */
export function named(prefix: string, name: string, suffix = ""): string[] {
  return [
    `${prefix}.${name}${suffix}`,
    `${prefix}["${name}"]${suffix}`,
    `${prefix}['${name}']${suffix}`,
  ];
}

export function addNamed(
  into: Replacements,
  prefix: string,
  values: Record<string, string>,
  suffix = "",
): void {
  for (const [name, value] of Object.entries(values)) {
    for (const key of named(prefix, name, suffix)) into[key] = value;
  }
}

export function substitute(text: string, replacements: Replacements): string {
  return text.replace(/\$\(([^()]*)\)/g, (whole, key: string) =>
    key in replacements ? replacements[key] : whole,
  );
}

/** References to Tekton variables (not shell command substitutions such as `$(mktemp)`). */
const TEKTON_REFERENCE =
  /\$\((params|context|workspaces|results|tasks|credentials|steps|step|tt)[.[][^()]*\)/g;

/** Throws when `text` still holds a Tekton reference nothing resolved. */
export function assertResolved(text: string, where: string): void {
  const left = text.match(TEKTON_REFERENCE);
  if (left) throw new Error(`${where}: unresolved ${[...new Set(left)].join(", ")}`);
}

/** Applies `substitute` to every string in a JSON-like value. */
export function substituteDeep<T>(value: T, replacements: Replacements): T {
  if (typeof value === "string") return substitute(value, replacements) as T;
  if (Array.isArray(value)) return value.map((v) => substituteDeep(v, replacements)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteDeep(v, replacements)]),
    ) as T;
  }
  return value;
}

/**
 * Rewrites Tekton's fixed pod paths (/tekton/home, /tekton/results, /tekton/creds, ...,
 * pkg/apis/pipeline/paths.go) to the TaskRun's directory standing for them on this machine.
 * Applied after substitution to scripts, args and env values.
 */
export function remapTektonPaths(text: string, tektonDir: string): string {
  return text.replace(/(^|[^\w.~/-])\/tekton(?=\/|$|[^\w.-])/g, `$1${tektonDir}`);
}
