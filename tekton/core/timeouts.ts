// The PipelineRun's timeouts: read by the listener (the run it creates), the status tasks (their
// own timeouts fit in the run's shares) and the cancel task.
import { AppConfig } from "../../config/schema";

/**
 * Kept from the PipelineRun's timeout for the `finally` task (`timeouts.finally`). With
 * `timeouts.pipeline` alone, a run that times out cancels every TaskRun, finally ones included,
 * and never starts them (pipeline v1.15.0 docs/pipelineruns.md "Configuring a failure timeout"):
 * GitLab would show `running` forever. Split, the tasks stop at `timeouts.tasks` and the
 * finally task still reports.
 */
export const STATUS_FINALLY_BUDGET_SECONDS = 180;

/** Seconds of a Go duration as the config accepts it (`1h30m`, `45m`, `90s`). */
export function durationSeconds(duration: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!match) throw new Error(`not a duration: ${duration}`);
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

/**
 * The PipelineRun's `timeouts`: `pipeline` alone without status reporting; with it, `tasks` and
 * `finally` too, so a run that runs out of time still reports (STATUS_FINALLY_BUDGET_SECONDS,
 * at most a quarter of the whole; their sum is the whole, as pipeline v1.15.0
 * pkg/apis/pipeline/v1/pipelinerun_validation.go `validatePipelineTimeout` requires).
 */
export function runTimeouts(
  app: AppConfig,
): { pipeline: string } | { pipeline: string; tasks: string; finally: string } {
  const pipeline = app.pipelineRun.timeout;
  if (!app.statusReporting.enabled) return { pipeline };
  const total = durationSeconds(pipeline);
  // Too short to share (`timeouts.tasks: 0s` would mean "no timeout"): leave it whole.
  if (total < 60) return { pipeline };
  const finallySeconds = Math.max(
    1,
    Math.min(STATUS_FINALLY_BUDGET_SECONDS, Math.floor(total / 4)),
  );
  return { pipeline, tasks: `${total - finallySeconds}s`, finally: `${finallySeconds}s` };
}
