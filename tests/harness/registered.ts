// What a program run registered: the resource types tests look for, and lookups by type and
// name. Type tokens are Pulumi's `<package>:<module>:<type>` for each resource class.
import * as assert from "node:assert/strict";
import { RegisteredResource } from "./mocks";
import type { ProgramRun } from "./program";

export const CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile";
export const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
export const CONFIG_MAP_PATCH = "kubernetes:core/v1:ConfigMapPatch";
export const SECRET = "kubernetes:core/v1:Secret";
export const SECRET_PATCH = "kubernetes:core/v1:SecretPatch";
export const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
export const JOB = "kubernetes:batch/v1:Job";
export const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
export const DEPLOY_KEY = "pulumi-nodejs:dynamic/gitlab:DeployKey";
export const ACCESS_TOKEN = "pulumi-nodejs:dynamic/gitlab:ProjectAccessToken";

/** Where the Tekton components' release manifests are downloaded from. */
export const TEKTON_RELEASES = "https://infra.tekton.dev/tekton-releases";

/** Finds one registered resource by type and name; fails with the names that do exist. */
export function findResource(run: ProgramRun, type: string, name: string): RegisteredResource {
  const found = run.resources.find((r) => r.type === type && r.name === name);
  if (!found) {
    const names = run.resources.filter((r) => r.type === type).map((r) => r.name);
    throw new Error(`no ${type} named ${name}; registered: ${names.join(", ") || "none"}`);
  }
  return found;
}

/** Finds the registered Kubernetes object of `type` whose `metadata.name` is `name`. */
export function findObject(run: ProgramRun, type: string, name: string): RegisteredResource {
  const found = run.resources.find((r) => r.type === type && r.inputs.metadata?.name === name);
  assert.ok(found, `${type} ${name}`);
  return found;
}

export function resourcesOfType(run: ProgramRun, type: string): RegisteredResource[] {
  return run.resources.filter((r) => r.type === type);
}
