// Runs @ibm/tekton-lint (its CLI, with the JSON formatter) on manifests written to a temp dir.
// The CLI rather than its JS API: the package is ESM-only and starts pino worker threads that
// would keep mocha alive.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";

export interface LintProblem {
  message: string;
  rule: string;
  level: "error" | "warning";
  /** The linted file, relative to the namespace folder. */
  file?: string;
  line?: number;
}

export interface LintResult {
  errors: LintProblem[];
  warnings: LintProblem[];
}

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
}

const LINT_CLI = path.join(
  path.dirname(require.resolve("@ibm/tekton-lint/package.json")),
  "dist",
  "lint.js",
);

function runCli(dir: string, cacheDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [LINT_CLI, "--format", "json", "--color", "false", "--config", dir, `${dir}/**/*.yaml`],
      { env: { ...process.env, TL_CACHE_DIR: cacheDir, NODE_ENV: "test" }, cwd: dir },
      (error, stdout, stderr) => {
        // The JSON formatter prints the problems as one array on a line of its own; anything
        // else on stdout is the linter's own log.
        const line = stdout.split("\n").find((text) => text.startsWith("["));
        if (line === undefined) {
          reject(
            new Error(
              `tekton-lint printed no result (${error?.message ?? "exit 0"}):\n${stdout}${stderr}`,
            ),
          );
          return;
        }
        resolve(line);
      },
    );
  });
}

/**
 * Lints Tekton manifests with tekton-lint's default rules. Objects are linted one namespace at a
 * time: Tekton resolves a Pipeline's Tasks within its own namespace, while tekton-lint knows no
 * namespaces and would report two apps' equally named Tasks as duplicates.
 */
export async function lintManifests(manifests: readonly object[]): Promise<LintResult> {
  if (manifests.length === 0) throw new Error("lintManifests: no manifests given");
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tekton-lint-"));
  const byNamespace = new Map<string, Manifest[]>();
  for (const manifest of (manifests as Manifest[]).flatMap(forTektonLint)) {
    const namespace = manifest.metadata.namespace ?? "default";
    byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), manifest]);
  }
  const result: LintResult = { errors: [], warnings: [] };
  try {
    const runs = [...byNamespace].map(async ([namespace, group]) => {
      const dir = path.join(root, namespace);
      fs.mkdirSync(dir, { recursive: true });
      group.forEach((manifest, index) => {
        const file = `${String(index).padStart(2, "0")}-${manifest.kind.toLowerCase()}-${manifest.metadata.name}.yaml`;
        fs.writeFileSync(
          path.join(dir, file),
          stringify(manifest, { lineWidth: 0, aliasDuplicateObjects: false }),
        );
      });
      const problems = JSON.parse(await runCli(dir, path.join(root, ".cache"))) as any[];
      return problems.map((problem): LintProblem => ({
        message: `[${namespace}] ${problem.message}`,
        rule: problem.rule,
        level: problem.level,
        file: problem.path ? path.relative(dir, problem.path) : undefined,
        line: problem.loc?.startLine,
      }));
    });
    for (const found of (await Promise.all(runs)).flat()) {
      (found.level === "error" ? result.errors : result.warnings).push(found);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  return result;
}

/**
 * tekton-lint (@ibm/tekton-lint dist/rules/no-missing-resource.js) knows EventListeners with
 * inline `spec.triggers` only: it iterates them unguarded (an EventListener that selects Trigger
 * objects, with no inline triggers, crashes it: "listener.spec.triggers is not iterable") and
 * has no rule for the Trigger kind. So, for linting only: the selecting EventListener is given
 * an empty inline list, and each Trigger is also presented as an EventListener in its namespace
 * with that Trigger's spec inline, so the rule checks its binding and template references.
 */
function forTektonLint(manifest: Manifest): Manifest[] {
  const m = manifest as Manifest & { spec?: Record<string, unknown> };
  if (m.kind === "EventListener" && m.spec && m.spec.triggers === undefined) {
    return [{ ...m, spec: { ...m.spec, triggers: [] } } as Manifest];
  }
  if (m.kind === "Trigger" && m.spec) {
    const asListener = {
      apiVersion: "triggers.tekton.dev/v1beta1",
      kind: "EventListener",
      metadata: { name: `lint-${m.metadata.name}`, namespace: m.metadata.namespace },
      spec: { triggers: [{ name: m.metadata.name, ...m.spec }] },
    };
    return [m, asListener as Manifest];
  }
  return [m];
}

/** One line per problem, for assertion messages. */
export function formatProblems(problems: LintProblem[]): string {
  return problems
    .map(
      (p) => `${p.level} ${p.rule}: ${p.message}${p.file ? ` (${p.file}:${p.line ?? "?"})` : ""}`,
    )
    .join("\n");
}
