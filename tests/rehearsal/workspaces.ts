// Workspaces as directories, the way a TaskRun pod gets its volumes (Tekton v1.15.0
// pkg/workspace/apply.go `CreateVolumes`, `Apply`; kubelet's volume plugins for the contents):
// - volumeClaimTemplate: one claim per PipelineRun (pkg/reconciler/volumeclaim), shared by
//   every TaskRun of the run: one directory per run. Its root is owned by root, group fsGroup,
//   mode 2775, as kubelet leaves a volume it applied fsGroup to.
// - emptyDir: a new empty directory per TaskRun pod, mode 0777 (kubelet's emptyDir).
// - secret / configMap: the object's keys as files (all of them, or only `items`, each at its
//   `path`), owned by root, 0644 (the volume's defaultMode), in a directory only root writes.
import * as fs from "node:fs";
import * as path from "node:path";

export interface ClusterObjects {
  secrets: Record<string, any>;
  configMaps: Record<string, any>;
}

/** The keys of a Secret as bytes: `data` is base64, `stringData` plain (the API merges them). */
function secretData(secret: any): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    out[key] = Buffer.from(String(value), "base64");
  }
  for (const [key, value] of Object.entries(secret.stringData ?? {})) {
    out[key] = Buffer.from(String(value));
  }
  return out;
}

function configMapData(configMap: any): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(configMap.data ?? {}))
    out[key] = Buffer.from(String(value));
  for (const [key, value] of Object.entries(configMap.binaryData ?? {})) {
    out[key] = Buffer.from(String(value), "base64");
  }
  return out;
}

function writeKeys(
  dir: string,
  data: Record<string, Buffer>,
  items: { key: string; path: string }[] | undefined,
  what: string,
): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files = items ?? Object.keys(data).map((key) => ({ key, path: key }));
  for (const item of files) {
    // kubelet fails the pod when an item names a key the object lacks (optional: false).
    if (!(item.key in data)) throw new Error(`${what} has no key ${item.key}`);
    const target = path.join(dir, item.path);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    fs.writeFileSync(target, data[item.key], { mode: 0o644 });
    fs.chmodSync(target, 0o644);
  }
}

export interface PipelineRunVolumes {
  /** Directory per volumeClaimTemplate workspace of the run, created once. */
  claims: Record<string, string>;
}

/**
 * Creates the directory backing `binding` for one TaskRun and returns its path. `runDir` holds
 * the run's claims, `taskRunDir` the TaskRun's own volumes.
 */
export function materialise(
  binding: any,
  objects: ClusterObjects,
  runVolumes: PipelineRunVolumes,
  runDir: string,
  taskRunDir: string,
  fsGroup: number | undefined,
): string {
  if (binding.volumeClaimTemplate || binding.persistentVolumeClaim) {
    const existing = runVolumes.claims[binding.name];
    if (existing) return existing;
    const dir = path.join(runDir, "claims", binding.name);
    fs.mkdirSync(dir, { recursive: true });
    if (fsGroup !== undefined) fs.chownSync(dir, 0, fsGroup);
    fs.chmodSync(dir, fsGroup !== undefined ? 0o2775 : 0o755);
    runVolumes.claims[binding.name] = dir;
    return dir;
  }
  const dir = path.join(taskRunDir, "volumes", binding.name);
  if (binding.emptyDir) {
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o777);
  } else if (binding.secret) {
    const name = binding.secret.secretName;
    const secret = objects.secrets[name];
    if (!secret && binding.secret.optional === true) {
      // SecretVolumeSource.optional: the kubelet mounts an empty volume for a missing Secret.
      fs.mkdirSync(dir, { recursive: true });
    } else if (!secret) {
      throw new Error(`workspace ${binding.name}: no Secret ${name} registered`);
    } else {
      writeKeys(dir, secretData(secret), binding.secret.items, `Secret ${name}`);
    }
  } else if (binding.configMap) {
    const name = binding.configMap.name;
    const configMap = objects.configMaps[name];
    if (!configMap) throw new Error(`workspace ${binding.name}: no ConfigMap ${name} registered`);
    writeKeys(dir, configMapData(configMap), binding.configMap.items, `ConfigMap ${name}`);
  } else {
    throw new Error(
      `workspace ${binding.name}: binding kind not emulated: ${JSON.stringify(binding)}`,
    );
  }
  return dir;
}

export { secretData };
