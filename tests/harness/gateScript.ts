// Runs a readiness gate's script (tekton/cluster/readinessGate.ts, tekton/cluster/prunerGate.ts) the way its Job
// does: bash, the Job container's env, a stub kubectl from `dir` first on PATH, no pause between
// attempts.
import { spawnSync } from "node:child_process";

interface GateJob {
  spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
}

export function runGateScript(script: string, job: GateJob, dir: string, attempts: number) {
  const env = Object.fromEntries(
    (job.spec.template.spec.containers[0].env ?? []).map((e) => [e.name, e.value]),
  );
  return spawnSync("bash", ["-c", script], {
    env: {
      ...env,
      HOME: dir,
      PATH: `${dir}:${process.env.PATH}`,
      GATE_ATTEMPTS: String(attempts),
      GATE_INTERVAL_SECONDS: "0",
    },
    encoding: "utf8",
    timeout: 20000,
  });
}
