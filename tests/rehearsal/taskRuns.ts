// The TaskRun objects the API server would hold for the emulator's TaskRuns, in Tekton Pipelines
// v1.15.0's shape, for steps that read them through the fake API (a merge request's
// describe-failure step). Only the fields a reader of the status uses:
//  - metadata.labels: the PipelineRun's own labels plus tekton.dev/pipelineRun and
//    tekton.dev/pipelineTask (pkg/reconciler/pipelinerun/pipelinerun.go
//    `createChildResourceLabels`; keys from pkg/apis/pipeline/register.go `PipelineRunLabelKey`,
//    `PipelineTaskLabelKey`);
//  - status.conditions: one of type Succeeded, "True" with reason Succeeded, else "False" with
//    Failed or TaskRunCancelled (pkg/apis/pipeline/v1/taskrun_types.go `TaskRunReason*`);
//  - status.steps[]: `StepState` (taskrun_types.go): the container state inline
//    (`terminated.exitCode`, `terminated.reason`: the kubelet's "Completed" for 0, "Error"
//    otherwise), `name`, `container` ("step-" + name: pkg/pod/status.go `TrimStepPrefix`), and
//    `terminationReason`, the kubelet's reason when the entrypoint wrote none
//    (pkg/pod/status.go `getTerminationReason`);
//  - status.completionTime.
// Steps that never ran (after a failed one) are left out; a real TaskRun lists them as skipped.
import { TaskRunRecord } from "./runner";

export function taskRunObject(pipelineRun: any, record: TaskRunRecord): any {
  const reason = record.succeeded ? "Succeeded" : (record.reason ?? "Failed");
  return {
    apiVersion: "tekton.dev/v1",
    kind: "TaskRun",
    metadata: {
      name: record.name,
      namespace: pipelineRun.metadata.namespace,
      labels: {
        ...(pipelineRun.metadata.labels ?? {}),
        "tekton.dev/pipelineRun": pipelineRun.metadata.name,
        "tekton.dev/pipelineTask": record.pipelineTask,
      },
    },
    status: {
      conditions: [
        {
          type: "Succeeded",
          status: record.succeeded ? "True" : "False",
          reason,
          message: record.error ?? "",
        },
      ],
      completionTime: record.completionTime,
      steps: record.steps.map((step) => {
        const kubelet = step.exitCode === 0 ? "Completed" : "Error";
        return {
          name: step.name,
          container: `step-${step.name}`,
          terminated: { exitCode: step.exitCode, reason: kubelet },
          terminationReason: kubelet,
        };
      }),
    },
  };
}
