// Tekton variable references and step env entries, shared by every Task builder (tekton/build,
// status, cancel).
import { EnvVar } from "./types";

/** `$(params.<name>)`: a Task's (or Pipeline's) parameter. */
export const param = (name: string) => `$(params.${name})`;
/** `$(workspaces.<name>.path)`: where a Task's workspace is mounted. */
export const workspacePath = (name: string) => `$(workspaces.${name}.path)`;
/** A plain env entry; numbers as their decimal text. */
export const env = (name: string, value: string | number): EnvVar => ({
  name,
  value: String(value),
});
