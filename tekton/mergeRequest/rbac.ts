// The identity of a merge request build's `report-result` task: it reads the run's TaskRuns to
// name the failed step (pipeline.ts `mergeRequestStatusVariant`), and nothing else.
import { AppConfig } from "../../config/schema";
import { appLabels } from "../core/names";
import { RoleBindingManifest, RoleManifest } from "../core/triggerTypes";
import { CancelServiceAccountManifest } from "../cancel/cancelTask";
import { STATUS_READER_SERVICE_ACCOUNT } from "./pipeline";

const RBAC_API = "rbac.authorization.k8s.io";

/**
 * Mounts its API token (the pod takes the account's setting, as the cancel task's does:
 * tekton/cancel/cancelTask.ts `cancelServiceAccount`) and lists no Secrets, so credential init
 * gives its steps nothing else.
 */
export function statusReaderServiceAccount(app: AppConfig): CancelServiceAccountManifest {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: {
      name: STATUS_READER_SERVICE_ACCOUNT,
      namespace: app.namespace,
      labels: appLabels(app),
    },
    automountServiceAccountToken: true,
  };
}

/**
 * get and list TaskRuns in the build namespace: `kubectl get taskruns --selector` lists
 * (scripts/describe-failure.sh). No watch, no write, no Secret, no Pod, no log: the step names
 * the failed step from the TaskRuns' status alone.
 */
export function statusReaderRole(app: AppConfig): RoleManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "Role",
    metadata: {
      name: STATUS_READER_SERVICE_ACCOUNT,
      namespace: app.namespace,
      labels: appLabels(app),
    },
    rules: [{ apiGroups: ["tekton.dev"], resources: ["taskruns"], verbs: ["get", "list"] }],
  };
}

export function statusReaderRoleBinding(app: AppConfig): RoleBindingManifest {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: "RoleBinding",
    metadata: {
      name: STATUS_READER_SERVICE_ACCOUNT,
      namespace: app.namespace,
      labels: appLabels(app),
    },
    roleRef: { apiGroup: RBAC_API, kind: "Role", name: STATUS_READER_SERVICE_ACCOUNT },
    subjects: [
      { kind: "ServiceAccount", name: STATUS_READER_SERVICE_ACCOUNT, namespace: app.namespace },
    ],
  };
}
