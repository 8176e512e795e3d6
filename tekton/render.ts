// Every Tekton object of the build pipelines as plain manifests with a file path each, for
// `npm run render` (review and lint without a cluster). Secrets are never part of it.
import { ValidatedConfig } from "../config/schema";
import { buildPipeline } from "./pipeline";
import { buildContext, buildTasks } from "./tasks";
import { triggerManifests } from "./triggers";
import { EventListener, TriggerBinding, TriggerTemplate } from "./triggerTypes";
import { BuildManifest } from "./types";

export interface RenderedManifest {
  /** Relative path: `<app>/<kind>-<name>.yaml`. */
  path: string;
  manifest: BuildManifest | TriggerBinding | TriggerTemplate | EventListener;
}

export function renderManifests(config: ValidatedConfig): RenderedManifest[] {
  const ctx = buildContext(config);
  return config.apps.flatMap((app) =>
    [...buildTasks(app, ctx), buildPipeline(app, ctx), ...triggerManifests(app, ctx)].map(
      (manifest) => ({
        path: `${app.name}/${manifest.kind.toLowerCase()}-${manifest.metadata.name}.yaml`,
        manifest,
      }),
    ),
  );
}
