// `npm run bench`: how program evaluation grows with the number of apps. Runs the whole program
// under the test mocks (no cluster, no GitLab) for 1, 10 and 50 apps and prints, per size, the
// resources registered, the median wall time of several runs, the time per app, and the
// registered inputs per app (JSON bytes; the state holds them, and most again as outputs),
// with the part that is serialized provider code (`__provider` of dynamic resources).
//
// Next to it, the floor: the same registrations (type, name, parent, dependencies, inputs as
// plain values, custom or component) replayed through bare `pulumi.CustomResource` /
// `pulumi.ComponentResource` under the same mocks, i.e. what the SDK alone costs for this
// resource graph. Compared per added app, between the two largest sizes, so start-up cancels.
// Wall time is what a user waits; CPU time (this process, all threads) is steadier on a busy
// machine. `BENCH_RUNS` (default 5) sets the runs per size, `BENCH_QUICK=1` one run each;
// `--merge-requests` gives every app merge request builds (`mergeRequests.build: true`).
import * as pulumi from "@pulumi/pulumi";
import { RegisteredResource, registered, resetRegistrations, settle } from "../tests/harness/mocks";
import * as os from "node:os";
import { performance } from "node:perf_hooks";
import { exampleConfig, runProgram, withStructured } from "../tests/harness/program";
import { deliver, renderedCluster } from "../tests/harness/sharedListener";
import { pushHeaders } from "../tests/listener/helpers";
import { parseStackConfig } from "../config/load";

const SIZES = [1, 10, 50];
const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 5));
const MERGE_REQUESTS = process.argv.includes("--merge-requests");

/** The example app, repeated `count` times with unique names, namespaces, projects and hosts. */
function configWithApps(count: number): Record<string, string> {
  return withStructured(exampleConfig(), "apps", ([template]) =>
    Array.from({ length: count }, (_, i) => ({
      ...template,
      name: `app-${i}`,
      namespace: undefined,
      sourceProject: `team/app-${i}`,
      operationsProject: `team/app-${i}-operations`,
      ...(MERGE_REQUESTS ? { mergeRequests: { build: true } } : {}),
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
      object_kind: "push",
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

/**
 * Registers `resources` (one program run's registrations, in registration order) again
 * through the bare SDK classes: the cheapest program that yields the same registrations. A
 * non-custom resource with inputs is a remote component (the yaml/v2 ConfigFiles). Parents and
 * dependencies precede their dependants in registration order (a registration waits for their
 * URNs), so one pass in order finds them all.
 */
// Concrete classes, as a provider SDK's are: the SDK takes a resource's source position from the
// frame below `new Resource`, `new CustomResource` and the subclass (resource.ts `stackTrace(4)`).
class RawCustomResource extends pulumi.CustomResource {}
class RawComponentResource extends pulumi.ComponentResource {}

async function replay(resources: RegisteredResource[]): Promise<number> {
  resetRegistrations();
  const byUrn = new Map<string, pulumi.Resource>();
  for (const r of resources) {
    const opts: pulumi.CustomResourceOptions = {
      parent: byUrn.get(r.parent),
      dependsOn: r.dependencies.flatMap((urn) => byUrn.get(urn) ?? []),
    };
    const resource = r.custom
      ? new RawCustomResource(r.type, r.name, r.inputs, opts)
      : new RawComponentResource(r.type, r.name, r.inputs, opts, Object.keys(r.inputs).length > 0);
    byUrn.set(r.urn, resource);
  }
  await settle();
  return registered.length;
}

/**
 * Stack traces formatted so far. Most of the SDK's cost per resource is here: every resource
 * property becomes an Output whose four promises each store `new Error().stack`
 * (runtime/debuggable.js `debuggablePromise`, from runtime/rpc.js `transferProperties`), and
 * every resource reads one unlimited trace for its source position (resource.js `callsites`);
 * ts-node's source-map-support maps each frame. Unlike time, the count is exact on a busy
 * machine.
 */
let traces = 0;
const prepare = Error.prepareStackTrace;
if (prepare) {
  Error.prepareStackTrace = (error, frames) => {
    traces++;
    return prepare(error, frames);
  };
}

/** Wall and CPU milliseconds `run` takes, and the stack traces it formats. */
async function timed<T>(
  run: () => Promise<T>,
): Promise<{ wall: number; cpu: number; traces: number; value: T }> {
  const cpu = process.cpuUsage();
  const before = traces;
  const start = performance.now();
  const value = await run();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000, traces: traces - before, value };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Timing {
  size: number;
  resources: number;
  program: { wall: number; cpu: number; traces: number };
  floor: { wall: number; cpu: number; traces: number };
}

async function main() {
  // One warm-up run of each so module loading is not counted in the first size.
  const warm = await runProgram(configWithApps(1));
  await replay(warm.resources);
  const rows: string[][] = [];
  const idle: string[][] = [];
  const footprints: ReturnType<typeof footprint>[] = [];
  const timings: Timing[] = [];
  for (const size of SIZES) {
    const config = configWithApps(size);
    const program = { wall: [] as number[], cpu: [] as number[], traces: 0 };
    const floor = { wall: [] as number[], cpu: [] as number[], traces: 0 };
    let recorded: RegisteredResource[] = [];
    let bytes = { total: 0, provider: 0 };
    for (let i = 0; i < RUNS; i++) {
      const run = await timed(() => runProgram(config));
      if (run.value.error) throw run.value.error;
      program.wall.push(run.wall);
      program.cpu.push(run.cpu);
      program.traces = run.traces;
      recorded = run.value.resources;
      bytes = inputBytes(recorded);
      if (i === 0) footprints.push(footprint(recorded));
    }
    for (let i = 0; i < RUNS; i++) {
      const run = await timed(() => replay(recorded));
      if (run.value !== recorded.length) {
        throw new Error(`replay registered ${run.value} of ${recorded.length} resources`);
      }
      floor.wall.push(run.wall);
      floor.cpu.push(run.cpu);
      floor.traces = run.traces;
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
    const ms = median(program.wall);
    timings.push({
      size,
      resources: recorded.length,
      program: { wall: ms, cpu: median(program.cpu), traces: program.traces },
      floor: { wall: median(floor.wall), cpu: median(floor.cpu), traces: floor.traces },
    });
    rows.push([
      String(size),
      String(recorded.length),
      ms.toFixed(0),
      (ms / size).toFixed(1),
      kB(bytes.total / size),
      kB(bytes.provider / size),
    ]);
  }
  console.log(
    `tekton-gitlab program evaluation under mocks, median of ${RUNS} runs${MERGE_REQUESTS ? ", every app with merge request builds" : ""}`,
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
  console.log(
    "against the floor: the same registrations through bare pulumi.CustomResource/ComponentResource",
  );
  print(
    [
      "apps",
      "resources",
      "program ms",
      "floor ms",
      "program CPU ms",
      "floor CPU ms",
      "program traces",
      "floor traces",
    ],
    timings.map((t) => [
      String(t.size),
      String(t.resources),
      t.program.wall.toFixed(0),
      t.floor.wall.toFixed(0),
      t.program.cpu.toFixed(0),
      t.floor.cpu.toFixed(0),
      String(t.program.traces),
      String(t.floor.traces),
    ]),
  );
  // Marginal cost between the two largest sizes: what one more app adds, start-up cancelled.
  const [small, large] = timings.slice(-2);
  const apps = large.size - small.size;
  const marginal = (kind: "program" | "floor", key: "wall" | "cpu" | "traces") =>
    (large[kind][key] - small[kind][key]) / apps;
  const versus = (key: "wall" | "cpu" | "traces", unit = " ms") => {
    const program = marginal("program", key);
    const floor = marginal("floor", key);
    return `${program.toFixed(1)}${unit} vs floor ${floor.toFixed(1)}${unit} (${(program / floor).toFixed(2)}x)`;
  };
  console.log(
    `per added app (${small.size} -> ${large.size} apps, ${((large.resources - small.resources) / apps).toFixed(1)} resources each):`,
    `wall ${versus("wall")}, CPU ${versus("cpu")}, stack traces ${versus("traces", "")}`,
  );
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
