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
import { deliver, renderedCluster } from "../tests/harness/sharedListener";
import { pushHeaders } from "../tests/listener/helpers";
import { parseStackConfig } from "../config/load";

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

/**
 * The idle footprint the registered resources make: each EventListener is one Deployment (one
 * long-running pod) and one `el-` Service (Triggers' reconciler creates both), plus the
 * Services, Ingresses and Ingress hosts the program registers itself.
 */
function footprint(resources: RegisteredResource[]) {
  const of = (suffix: string) => resources.filter((r) => r.type.endsWith(suffix));
  const listeners = of(":EventListener").length;
  const ingresses = of("networking.k8s.io/v1:Ingress");
  const hosts = new Set(
    ingresses.flatMap((r) => (r.inputs.spec?.rules ?? []).map((rule: any) => rule.host)),
  );
  return {
    pods: listeners,
    services: listeners + of("core/v1:Service").length,
    ingresses: ingresses.length,
    hosts: hosts.size,
  };
}

/**
 * Interceptor calls one push costs on the shared listener with `count` apps, counted by the
 * model of Triggers' sink (tests/harness/sharedListener.ts): a push for app-0 with its token,
 * and a push for a project no app builds.
 */
function routingCost(count: number) {
  const config = parseStackConfig(configWithApps(count), {});
  const cluster = renderedCluster(config, (app) => `token-${app.name}`);
  const push = (project: string) => ({
    headers: pushHeaders("token-app-0"),
    body: {
      ref: "refs/heads/main",
      checkout_sha: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      project: { path_with_namespace: project },
    },
  });
  const known = deliver(cluster, push("team/app-0"));
  const unknown = deliver(cluster, push("team/nobody"));
  if (known.created.length !== 1 || unknown.created.length !== 0) {
    throw new Error(`routing model: ${JSON.stringify({ known, unknown })}`);
  }
  return {
    cel: known.calls.cel ?? 0,
    gitlab: known.calls.gitlab ?? 0,
    unknownCel: unknown.calls.cel ?? 0,
    unknownGitlab: unknown.calls.gitlab ?? 0,
  };
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
  const idle: string[][] = [];
  const footprints: ReturnType<typeof footprint>[] = [];
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
      if (i === 0) footprints.push(footprint(run.resources));
    }
    const fp = footprints[footprints.length - 1];
    const cost = routingCost(size);
    idle.push([
      String(size),
      String(fp.pods),
      String(fp.services),
      String(fp.ingresses),
      String(fp.hosts),
      `${cost.cel} cel + ${cost.gitlab} gitlab`,
      `${cost.unknownCel} cel + ${cost.unknownGitlab} gitlab`,
    ]);
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
  print(header, rows);
  console.log("");
  console.log("idle footprint and per-push routing cost (interceptor calls per delivery)");
  print(
    [
      "apps",
      "listener pods",
      "Services",
      "Ingresses",
      "hosts",
      "push for an app",
      "push for an unknown project",
    ],
    idle,
  );
  const first = footprints[0];
  const last = footprints[footprints.length - 1];
  const span = SIZES[SIZES.length - 1] - SIZES[0];
  const perApp = (key: keyof typeof first) => ((last[key] - first[key]) / span).toFixed(2);
  console.log(
    `added per app: ${perApp("pods")} long-running pods, ${perApp("services")} Services, ${perApp("ingresses")} Ingresses, ${perApp("hosts")} hostnames`,
  );
}

function print(header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) {
    console.log(row.map((cell, i) => cell.padStart(widths[i])).join("  "));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
