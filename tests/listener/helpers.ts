// Config and payload helpers shared by the trigger tests.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../config/load";
import { AppConfig, ValidatedConfig } from "../../config/schema";
import { BuildContext, buildContext } from "../../tekton/build/context";
import { exampleConfig, withStructured } from "../harness/program";
import { Cluster, renderedCluster } from "../harness/sharedListener";

/** The example stack's validated config, optionally with its first app or registry changed. */
export function exampleStack(
  edit: { app?: (app: any) => any; registry?: (registry: any) => any } = {},
): ValidatedConfig {
  let raw = exampleConfig();
  if (edit.app) raw = withStructured(raw, "apps", (apps) => [edit.app!(apps[0]), ...apps.slice(1)]);
  if (edit.registry) raw = withStructured(raw, "registry", edit.registry);
  return parseStackConfig(raw, {});
}

export function exampleApp(edit?: (app: any) => any): {
  app: AppConfig;
  ctx: BuildContext;
} {
  const stack = exampleStack({ app: edit });
  return { app: stack.apps[0], ctx: buildContext(stack) };
}

/** GitLab's documented push event, for the example app's project and branch. */
export function pushPayload(): any {
  return JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "gitlab-push.json"), "utf8"));
}

/**
 * The example stack with `extra` more apps (shop/<name>, branch main unless given), as the
 * shared listener's cluster: every app's Trigger, binding, template, Role and RoleBinding, the
 * one EventListener, and each app's webhook Secret holding `tokens[app]`.
 */
export function sharedCluster(
  extra: { name: string; branch?: string; sourceProject?: string }[],
  tokens: Record<string, string>,
): { config: ValidatedConfig; cluster: Cluster } {
  const raw = withStructured(exampleConfig(), "apps", ([first]) => [
    first,
    ...extra.map(({ name, branch, sourceProject }) => ({
      ...first,
      name,
      namespace: undefined,
      branch: branch ?? "main",
      sourceProject: sourceProject ?? `shop/${name}`,
      operationsProject: `shop/${name}-operations`,
      imageRepository: `shop/${name}`,
    })),
  ]);
  const config = parseStackConfig(raw, {});
  const cluster = renderedCluster(config, (app) => tokens[app.name]);
  return { config, cluster };
}

/** GitLab's headers for a push delivery with `token`. */
export function pushHeaders(token: string): Record<string, string> {
  return {
    "X-Gitlab-Event": "Push Hook",
    "X-Gitlab-Token": token,
    "Content-Type": "application/json",
  };
}
