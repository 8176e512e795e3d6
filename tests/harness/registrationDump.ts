// A plain, deterministic record of everything a program run registered: URN, type, parent,
// dependencies, options and inputs. The layout tests compare it with frozen fixtures, so a move
// of code that changes any registered object, URN or dependency fails.
import { ProgramRun, exampleConfig, withStructured } from "./program";
import { RegisteredResource, isSecretAt } from "./mocks";

/** Stand-in for a secret input's value (mock key material differs from run to run). */
export const SECRET_VALUE = "[secret]";

/**
 * One registration as the fixtures hold it: what the engine keeps of it, secrets redacted. The
 * name is part of the URN; aliases are checked apart (tests/contract/registrations.test.ts).
 */
export type DumpedResource = Omit<
  RegisteredResource,
  "name" | "aliases" | "replacementTrigger" | "inputs"
> & { replacementTrigger: unknown; inputs: Record<string, unknown> };

function redact(value: unknown, resource: RegisteredResource, path: string): unknown {
  if (path !== "" && isSecretAt(resource, path)) return SECRET_VALUE;
  if (Array.isArray(value)) return value.map((item, i) => redact(item, resource, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      redact(item, resource, path ? `${path}.${key}` : key),
    ]),
  );
}

/** One run's registrations, in registration order, aliases left out (see `aliasesOf`). */
export function dumpRegistrations(run: ProgramRun): DumpedResource[] {
  return run.resources.map((r) => ({
    urn: r.urn,
    type: r.type,
    custom: r.custom,
    parent: r.parent,
    dependencies: [...r.dependencies].sort(),
    deleteBeforeReplace: r.deleteBeforeReplace,
    replaceOnChanges: [...r.replaceOnChanges].sort(),
    additionalSecretOutputs: [...r.additionalSecretOutputs].sort(),
    transforms: r.transforms,
    retainOnDelete: r.retainOnDelete,
    replacementTrigger: r.replacementTrigger ?? null,
    secretPaths: [...r.secretPaths].sort(),
    inputs: redact(r.inputs, r, "") as Record<string, unknown>,
  }));
}

/**
 * The configs whose registrations are frozen: the dev stack, the prod stack, every add-on on
 * (Chains, Pruner with retention, Dashboard with an Ingress), and a plain-HTTP registry with
 * custom build resources, no status reporting and no cancel-in-progress.
 */
export const DUMPED_CONFIGS: Record<string, () => Record<string, string>> = {
  dev: () => exampleConfig("dev"),
  prod: () => exampleConfig("prod"),
  "addons-on": () =>
    withStructured(
      withStructured(exampleConfig("dev"), "tekton", (t) => ({
        ...t,
        chains: { install: true },
        pruner: { install: true },
        dashboard: {
          install: true,
          ingress: {
            host: "tekton.example.com",
            className: "nginx",
            tlsSecretName: "tekton-dashboard-tls",
          },
        },
      })),
      "apps",
      (apps) => apps.map((a: any) => ({ ...a, retention: { successfulHistoryLimit: 3 } })),
    ),
  "plain-http-custom-build": () =>
    withStructured(
      withStructured(exampleConfig("dev"), "registry", ({ caCert: _c, ...rest }) => ({
        ...rest,
        plainHttp: true,
      })),
      "apps",
      (apps) =>
        apps.map((a: any) => ({
          ...a,
          build: {
            resources: {
              requests: { cpu: "2", memory: "4Gi" },
              limits: { memory: "12Gi", cpu: "4" },
            },
            cache: { enabled: false },
          },
          statusReporting: false,
          cancelSuperseded: false,
        })),
    ),
};
