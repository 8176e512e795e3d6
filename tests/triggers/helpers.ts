// Config and payload helpers shared by the trigger tests.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../config/load";
import { AppConfig, ValidatedConfig } from "../../config/schema";
import { exampleConfig, withStructured } from "../harness/program";

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
  ctx: Pick<ValidatedConfig, "gitSsh" | "registry" | "images">;
} {
  const stack = exampleStack({ app: edit });
  return {
    app: stack.apps[0],
    ctx: { gitSsh: stack.gitSsh, registry: stack.registry, images: stack.images },
  };
}

/** GitLab's documented push event, for the example app's project and branch. */
export function pushPayload(): any {
  return JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "gitlab-push.json"), "utf8"));
}
