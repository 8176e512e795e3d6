// `npm run bench`: how program evaluation grows with the number of apps. Runs the whole program
// under the test mocks (no cluster, no GitLab) for 1, 10 and 50 apps and prints, per size, the
// resources registered, the median wall time of several runs and the time per app.
import "../tests/harness/mocks";
import * as os from "node:os";
import { performance } from "node:perf_hooks";
import { exampleConfig, runProgram, withStructured } from "../tests/harness/program";

const SIZES = [1, 10, 50];
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/** The example app, repeated `count` times with unique names, namespaces, projects and hosts. */
function configWithApps(count: number): Record<string, string> {
  return withStructured(exampleConfig(), "apps", ([template]) =>
    Array.from({ length: count }, (_, i) => ({
      ...template,
      name: `app-${i}`,
      namespace: undefined,
      sourceProject: `team/app-${i}`,
      operationsProject: `team/app-${i}-operations`,
      webhookHost: `app-${i}.build.example.com`,
    })),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  // One warm-up run so module loading is not counted in the first size.
  await runProgram(configWithApps(1));
  const rows: string[][] = [];
  for (const size of SIZES) {
    const config = configWithApps(size);
    const times: number[] = [];
    let resources = 0;
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      const run = await runProgram(config);
      times.push(performance.now() - start);
      if (run.error) throw run.error;
      resources = run.resources.length;
    }
    const ms = median(times);
    rows.push([String(size), String(resources), ms.toFixed(0), (ms / size).toFixed(1)]);
  }
  console.log(
    `tekton-gitlab program evaluation under mocks, median of ${RUNS} runs`,
    `(node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"})`,
  );
  const header = ["apps", "resources", "median ms", "ms per app"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) {
    console.log(row.map((cell, i) => cell.padStart(widths[i])).join("  "));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
