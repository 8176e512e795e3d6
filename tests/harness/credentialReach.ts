// Which Secret reaches which step of an app's build, computed from what the program registered
// the way Tekton Pipelines v1.15.0 puts a TaskRun's pod together:
// - credential init (pkg/pod/creds_init.go `credsInit`, mounted into every step by
//   pkg/pod/pod.go `Build`): each Secret listed on the TaskRun's ServiceAccount that dockercreds
//   or gitcreds recognises (policy/credentials.ts `credentialInitMounts`); the ServiceAccount is
//   the PipelineRun's `taskRunSpecs[]` entry for the pipeline task, else
//   `taskRunTemplate.serviceAccountName`, else "default";
// - workspaces (pkg/workspace/apply.go `Apply`): a Secret bound to a workspace the pipeline task
//   passes on is mounted into every step (`mountAsSharedWorkspace`), unless some step lists
//   the workspace in its own `workspaces`, then into those steps only
//   (`mountAsIsolatedWorkspace`);
// - the ServiceAccount's API token, in every container of the pod, unless the account sets
//   `automountServiceAccountToken: false` (pkg/pod/pod.go `Build` copies only the pod template's
//   automountServiceAccountToken, which the runs never set, so the account's setting holds).
//   Shown as `token:<ServiceAccount>`.
import { credentialInitMounts, TEKTON_DEFAULT_SERVICE_ACCOUNT } from "../../policy/credentials";
import { ProgramRun } from "./program";

/** pipeline task -> step -> names of the Secrets mounted into that step, sorted. */
export type CredentialReach = Record<string, Record<string, string[]>>;

/**
 * pipeline task -> the Secrets Tekton Chains' OCI storage may push signatures with for that
 * task's TaskRun: k8schain (go-containerregistry pkg/authn/k8schain, as chains v0.29.2
 * pkg/chains/storage/oci/legacy.go calls it with UseMountSecrets) reads the ServiceAccount's
 * `imagePullSecrets` and `secrets`. `(pipelinerun)`: the PipelineRun's own account
 * (`taskRunTemplate.serviceAccountName`, chains pkg/chains/objects/objects.go
 * `PipelineRunObjectV1.GetServiceAccountName`).
 */
export function chainsKeychain(
  run: ProgramRun,
  namespace: string,
  template?: string,
): Record<string, string[]> {
  const { pipelineRun, pipeline, inNamespace } = buildObjects(run, namespace, template);
  const secretsOf = (serviceAccountName: string) => {
    const account = inNamespace("kubernetes:core/v1:ServiceAccount", serviceAccountName);
    return [...(account.imagePullSecrets ?? []), ...(account.secrets ?? [])]
      .map((ref: { name: string }) => ref.name)
      .sort();
  };
  const keychain: Record<string, string[]> = {};
  for (const pipelineTask of pipelineTasks(pipeline)) {
    keychain[pipelineTask.name] = secretsOf(serviceAccountOf(pipelineRun, pipelineTask.name));
  }
  keychain["(pipelinerun)"] = secretsOf(
    pipelineRun.spec.taskRunTemplate?.serviceAccountName ?? TEKTON_DEFAULT_SERVICE_ACCOUNT,
  );
  return keychain;
}

/** The DAG tasks and the `finally` tasks: a finally TaskRun's pod is put together the same way. */
function pipelineTasks(pipeline: any): any[] {
  return [...pipeline.spec.tasks, ...(pipeline.spec.finally ?? [])];
}

function serviceAccountOf(pipelineRun: any, pipelineTaskName: string): string {
  const specific = (pipelineRun.spec.taskRunSpecs ?? []).find(
    (spec: any) => spec.pipelineTaskName === pipelineTaskName,
  );
  return (
    specific?.serviceAccountName ??
    pipelineRun.spec.taskRunTemplate?.serviceAccountName ??
    TEKTON_DEFAULT_SERVICE_ACCOUNT
  );
}

/** `template`: the TriggerTemplate's name; unset: the namespace's first (the push build's). */
function buildObjects(run: ProgramRun, namespace: string, template?: string) {
  const inNamespace = (type: string, name: string) => {
    const found = run.resources.find(
      (r) =>
        r.type === type &&
        r.inputs.metadata?.namespace === namespace &&
        r.inputs.metadata?.name === name,
    );
    if (!found) throw new Error(`no ${type} ${namespace}/${name}`);
    return found.inputs;
  };
  const found = run.resources.find(
    (r) =>
      r.type === "kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate" &&
      r.inputs.metadata.namespace === namespace &&
      (template === undefined || r.inputs.metadata.name === template),
  );
  if (!found) throw new Error(`no TriggerTemplate ${template ?? ""} in ${namespace}`);
  const pipelineRun = found.inputs.spec.resourcetemplates[0];
  const pipeline = inNamespace(
    "kubernetes:tekton.dev/v1:Pipeline",
    pipelineRun.spec.pipelineRef.name,
  );
  return { pipelineRun, pipeline, inNamespace };
}

export function credentialReach(
  run: ProgramRun,
  namespace: string,
  template?: string,
): CredentialReach {
  const { pipelineRun, pipeline, inNamespace } = buildObjects(run, namespace, template);

  const reach: CredentialReach = {};
  for (const pipelineTask of pipelineTasks(pipeline)) {
    const task = inNamespace("kubernetes:tekton.dev/v1:Task", pipelineTask.taskRef.name);
    const steps: { name: string; workspaces?: { name: string }[] }[] = task.spec.steps;
    const mounted: Record<string, Set<string>> = Object.fromEntries(
      steps.map((step) => [step.name, new Set<string>()]),
    );

    const serviceAccount = inNamespace(
      "kubernetes:core/v1:ServiceAccount",
      serviceAccountOf(pipelineRun, pipelineTask.name),
    );
    for (const { name } of serviceAccount.secrets ?? []) {
      const secret = inNamespace("kubernetes:core/v1:Secret", name);
      if (credentialInitMounts({ type: secret.type, annotations: secret.metadata.annotations })) {
        for (const step of steps) mounted[step.name].add(name);
      }
    }

    if (serviceAccount.automountServiceAccountToken !== false) {
      for (const step of steps) mounted[step.name].add(`token:${serviceAccount.metadata.name}`);
    }

    for (const binding of pipelineTask.workspaces ?? []) {
      const runBinding = pipelineRun.spec.workspaces.find((w: any) => w.name === binding.workspace);
      const secretName: string | undefined = runBinding?.secret?.secretName;
      if (secretName === undefined) continue;
      const isolatedTo = steps.filter((step) =>
        (step.workspaces ?? []).some((usage) => usage.name === binding.name),
      );
      for (const step of isolatedTo.length > 0 ? isolatedTo : steps) {
        mounted[step.name].add(secretName);
      }
    }
    reach[pipelineTask.name] = Object.fromEntries(
      Object.entries(mounted).map(([step, names]) => [step, [...names].sort()]),
    );
  }
  return reach;
}
