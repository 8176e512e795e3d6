// `npm run bench`: how program evaluation grows with the number of apps. Runs the whole program
// under the test mocks (no cluster, no GitLab) for 1, 10 and 50 apps and prints, per size, the
// resources registered, the median wall time of several runs, the time per app, and the
// registered inputs per app (JSON bytes; the state holds them, and most again as outputs),
// with the part that is serialized provider code (`__provider` of dynamic resources).
import "../tests/harness/mocks";
import * as os from "node:os";
import { performance } from "node:perf_hooks";
import type { RegisteredResource } from "../tests/harness/mocks";
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
    })),
  );
}

/** JSON bytes of the registered inputs, and of the `__provider` texts among them. */
function inputBytes(resources: RegisteredResource[]): { total: number; provider: number } {
  let total = 0;
  let provider = 0;
  for (const r of resources) {
    total += Buffer.byteLength(JSON.stringify(r.inputs));
    if (typeof r.inputs.__provider === "string") {
      provider += Buffer.byteLength(JSON.stringify(r.inputs.__provider));
    }
  }
  return { total, provider };
}

const kB = (bytes: number) => (bytes / 1000).toFixed(1);

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
    let bytes = { total: 0, provider: 0 };
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      const run = await runProgram(config);
      times.push(performance.now() - start);
      if (run.error) throw run.error;
      resources = run.resources.length;
      bytes = inputBytes(run.resources);
    }
    const ms = median(times);
    rows.push([
      String(size),
      String(resources),
      ms.toFixed(0),
      (ms / size).toFixed(1),
      kB(bytes.total / size),
      kB(bytes.provider / size),
    ]);
  }
  console.log(
    `tekton-gitlab program evaluation under mocks, median of ${RUNS} runs`,
    `(node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"})`,
  );
  const header = [
    "apps",
    "resources",
    "median ms",
    "ms per app",
    "inputs kB per app",
    "of which provider code",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) {
    console.log(row.map((cell, i) => cell.padStart(widths[i])).join("  "));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
