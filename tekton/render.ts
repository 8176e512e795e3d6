// Every Tekton object of the build pipelines as plain manifests with a file path each, for
// `npm run render` (review and lint without a cluster). Secrets are never part of it.
import { ValidatedConfig } from "../config/schema";
import { buildPipeline } from "./build/pipeline";
import { buildContext } from "./build/context";
import { buildTasks } from "./build/tasks";
import { sharedEventListener, triggerManifests } from "./listener/triggers";
import { EventListener, Trigger, TriggerBinding, TriggerTemplate } from "./core/triggerTypes";
import { BuildManifest } from "./core/types";
import { mergeRequestPipeline, mergeRequestTasks } from "./mergeRequest/pipeline";
import { mergeRequestTriggerObjects } from "./mergeRequest/triggers";

export interface RenderedManifest {
  /** Relative path: `<app>/<kind>-<name>.yaml`. */
  path: string;
  manifest: BuildManifest | TriggerBinding | TriggerTemplate | Trigger | EventListener;
}

export function renderManifests(config: ValidatedConfig): RenderedManifest[] {
  const ctx = buildContext(config);
  const apps: RenderedManifest[] = config.apps.flatMap((app) =>
    [
      ...buildTasks(app, ctx),
      buildPipeline(app, ctx),
      ...triggerManifests(app, ctx, config.listener),
      ...mergeRequestManifests(app, ctx, config.listener),
    ].map((manifest) => ({
      path: `${app.name}/${manifest.kind.toLowerCase()}-${manifest.metadata.name}.yaml`,
      manifest,
    })),
  );
  if (config.apps.length === 0) return apps;
  // The one EventListener every app's Trigger is selected by.
  const listener = sharedEventListener(config.listener, config.apps);
  return [
    ...apps,
    { path: `listener/eventlistener-${listener.metadata.name}.yaml`, manifest: listener },
  ];
}

/** An app's merge request build (tekton/mergeRequest), when `mergeRequests.build` is on. */
function mergeRequestManifests(
  app: ValidatedConfig["apps"][number],
  ctx: ReturnType<typeof buildContext>,
  listener: ValidatedConfig["listener"],
): (BuildManifest | TriggerBinding | TriggerTemplate | Trigger)[] {
  const triggers = mergeRequestTriggerObjects(app, ctx, listener);
  if (triggers === undefined) return [];
  return [
    ...mergeRequestTasks(app, ctx),
    mergeRequestPipeline(app, ctx),
    ...triggers.bindings,
    triggers.template,
    ...triggers.triggers,
  ];
}
