// GitLab's documented merge request and comment deliveries, and a stack whose apps build merge
// requests, for the shared listener model (tests/harness/sharedListener.ts).
//
// The fixtures are the JSON examples of gitlabhq doc/user/project/integrations/webhook_events.md
// (gitlabhq/gitlabhq at 017a6c129d6a): fixtures/gitlab-merge-request.json is "Merge request
// events", fixtures/gitlab-note-merge-request.json is "Comment on a merge request". One field was
// made consistent: the merge request example has `project.id` 1 but `target_project_id` (and
// `source_project_id`) 14, where a hook's `project` is the merge request's target project (the
// hook fires for the project it is registered on: app/services/merge_requests/base_service.rb
// `execute_hooks` -> `merge_request.project.execute_hooks`), so `project.id` is 14 there. Each
// test then points `project.path_with_namespace` at the app's project.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../config/load";
import { AppConfig, ValidatedConfig } from "../../config/schema";
import { exampleConfig, withStructured } from "../harness/program";
import { Cluster, renderedCluster } from "../harness/sharedListener";

export const TOKENS: Record<string, string> = {
  "hello-python": "token-of-hello-python-0123456789",
  orders: "token-of-orders-0123456789abcdef",
};

function fixture(name: string): any {
  return JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", name), "utf8"));
}

/** The documented "Merge request events" payload, for `project` (a project path). */
export function mergeRequestEvent(project: string): any {
  const body = fixture("gitlab-merge-request.json");
  body.project.path_with_namespace = project;
  return body;
}

/** The documented "Comment on a merge request" payload, for `project`, saying `note`. */
export function noteEvent(project: string, note: string): any {
  const body = fixture("gitlab-note-merge-request.json");
  body.project.path_with_namespace = project;
  body.object_attributes.note = note;
  return body;
}

export function headers(event: string, token: string): Record<string, string> {
  return { "X-Gitlab-Event": event, "X-Gitlab-Token": token, "Content-Type": "application/json" };
}

/**
 * The example stack plus a second app (`orders`, shop/orders), both with `mergeRequests` as
 * given (build on unless `edit` says otherwise), as the shared listener's cluster.
 */
export function mergeRequestStack(edit: (app: any) => any = (a) => a): {
  config: ValidatedConfig;
  cluster: Cluster;
  app: AppConfig;
  orders: AppConfig;
} {
  const raw = withStructured(exampleConfig(), "apps", ([first]) => {
    const app = edit({ ...first, mergeRequests: { build: true } });
    return [
      app,
      {
        ...app,
        name: "orders",
        namespace: undefined,
        branch: "main",
        sourceProject: "shop/orders",
        operationsProject: "shop/orders-operations",
        imageRepository: "shop/orders",
        mergeRequests: { build: true },
      },
    ];
  });
  const config = parseStackConfig(raw, {});
  const cluster = renderedCluster(config, (a) => TOKENS[a.name]);
  return { config, cluster, app: config.apps[0], orders: config.apps[1] };
}
