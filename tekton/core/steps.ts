// What every Task's steps share, whichever folder builds the Task (build, status, cancel) and
// whatever runs it (the listener's PipelineRun sets BUILD_FS_GROUP): the unprivileged user and
// its HOME, metadata and string params.
import { AppConfig } from "../../config/schema";
import { appLabels } from "./names";
import { ObjectMeta, ParamSpec, SecurityContext, StepTemplate } from "./types";
import { env } from "./variables";

/**
 * UID and GID of every git and kubectl step: `nobody`, which both the Alpine-based git image and
 * the Debian-based kubectl image list in /etc/passwd. ssh refuses to run for a UID without a
 * passwd entry, so an arbitrary UID would break every clone.
 */
export const STEP_USER_ID = 65534;

/**
 * The fsGroup a PipelineRun's pod template must set so the non-root tag step can write into a
 * freshly provisioned `source` volume (most provisioners create its root owned by root, 0755).
 */
export const BUILD_FS_GROUP = STEP_USER_ID;

/**
 * HOME of the non-root steps: Tekton's per-pod emptyDir, writable by any UID; git keeps its
 * global config (safe.directory) there. No credential is put there: the build ServiceAccount
 * lists no Secrets, so credential init has nothing to copy (keys come in as workspaces).
 */
export const STEP_HOME = "/tekton/home";

/** Security context of the steps that need no privilege at all. */
export const nonRootSecurityContext: SecurityContext = {
  runAsUser: STEP_USER_ID,
  runAsGroup: STEP_USER_ID,
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

export const nonRootStepTemplate: StepTemplate = {
  env: [env("HOME", STEP_HOME)],
  securityContext: nonRootSecurityContext,
};

/** A Task's string param; `def` is its default (none: the Pipeline must pass it). */
export function stringParam(name: string, description: string, def?: string): ParamSpec {
  return { name, type: "string", description, ...(def === undefined ? {} : { default: def }) };
}

/** An app Task's metadata: in the app's namespace, with the app's labels. */
export function taskMetadata(
  app: Pick<AppConfig, "name" | "namespace">,
  name: string,
  annotations?: Record<string, string>,
): ObjectMeta {
  const meta: ObjectMeta = { name, namespace: app.namespace, labels: appLabels(app) };
  if (annotations) meta.annotations = annotations;
  return meta;
}
