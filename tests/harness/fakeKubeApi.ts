// A small Kubernetes API server on 127.0.0.1 for the cancel task's script and the real kubectl:
// discovery for tekton.dev/v1 pipelineruns, list with an equality labelSelector, GET and merge
// PATCH of one run, in the namespaces it is given; and a list of taskruns (a merge request's
// describe-failure step), held by the test. With `authorize`, every call but discovery is
// checked as RBAC would check the caller's token (a 403 otherwise). Everything else (watch,
// update, delete, other resources or namespaces) is answered 403 or 404 and recorded, so a test
// sees every call.
// Plain http by default; with `tls` it serves https, which a test needs to see the bearer token:
// kubectl sends a kubeconfig's credentials only over TLS (client-go
// tools/clientcmd/client_config.go `DirectClientConfig.ClientConfig`: "only try to read the auth
// information if we are secure", `restclient.IsConfigTransportTLS`).
import * as http from "node:http";
import * as https from "node:https";
import { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  authorization?: string;
  body?: string;
}

export interface FakeKubeApi {
  url: string;
  requests: RecordedRequest[];
  /** namespace -> name -> PipelineRun (patched in place). */
  runs: Map<string, Map<string, any>>;
  /** Run names whose PATCH is refused with this status code (e.g. 422 for a run that is done). */
  refusePatch: Map<string, number>;
  /** Refuse the list with 403, as RBAC would without `list`. */
  refuseList: boolean;
  /** Refuse a GET of one run with 403, as RBAC would without `get`. */
  refuseGet: boolean;
  /** namespace -> name -> TaskRun, listed read-only (tests/rehearsal/taskRuns.ts fills it). */
  taskRuns: Map<string, Map<string, any>>;
  /**
   * RBAC: may the bearer of `token` do `verb` (get, list, patch) on tekton.dev `resource` in
   * `namespace`? Unset: everything is allowed (the refuse* switches aside).
   */
  authorize?: (token: string, verb: string, resource: string, namespace: string) => boolean;
  close(): Promise<void>;
}

const RESOURCE = {
  name: "pipelineruns",
  singularName: "pipelinerun",
  namespaced: true,
  kind: "PipelineRun",
  verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
  shortNames: ["pr", "prs"],
  categories: ["tekton", "tekton-pipelines"],
};
const TASK_RUNS = {
  ...RESOURCE,
  name: "taskruns",
  singularName: "taskrun",
  kind: "TaskRun",
  shortNames: ["tr", "trs"],
};

function status(code: number, reason: string, message: string) {
  return { kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code };
}

/** Equality-only selectors (`k=v,k2=v2`), the form the cancel task sends. */
export function selects(selector: string, labels: Record<string, string> | undefined): boolean {
  return selector
    .split(",")
    .filter((term) => term !== "")
    .every((term) => {
      const [key, value] = term.split("=");
      return (labels ?? {})[key] === value;
    });
}

export async function startFakeKubeApi(
  namespaces: string[],
  tls?: { key: string; cert: string },
): Promise<FakeKubeApi> {
  const requests: RecordedRequest[] = [];
  const runs = new Map<string, Map<string, any>>(namespaces.map((ns) => [ns, new Map()]));
  const api: FakeKubeApi = {
    url: "",
    requests,
    runs,
    refusePatch: new Map(),
    refuseList: false,
    refuseGet: false,
    taskRuns: new Map(namespaces.map((ns) => [ns, new Map()])),
    close: async () => undefined,
  };

  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({
        method: req.method ?? "",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        contentType: req.headers["content-type"],
        authorization: req.headers.authorization,
        body: body === "" ? undefined : body,
      });
      const send = (code: number, object: unknown) => {
        res.writeHead(code, { "Content-Type": "application/json" });
        res.end(JSON.stringify(object));
      };
      const path = url.pathname.replace(/\/+$/, "");

      if (req.method === "GET" && path === "/api") {
        return send(200, {
          kind: "APIVersions",
          versions: ["v1"],
          serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1" }],
        });
      }
      if (req.method === "GET" && path === "/api/v1") {
        return send(200, { kind: "APIResourceList", groupVersion: "v1", resources: [] });
      }
      if (req.method === "GET" && path === "/apis") {
        const version = { groupVersion: "tekton.dev/v1", version: "v1" };
        return send(200, {
          kind: "APIGroupList",
          apiVersion: "v1",
          groups: [{ name: "tekton.dev", versions: [version], preferredVersion: version }],
        });
      }
      if (req.method === "GET" && path === "/apis/tekton.dev/v1") {
        return send(200, {
          kind: "APIResourceList",
          apiVersion: "v1",
          groupVersion: "tekton.dev/v1",
          resources: [RESOURCE, TASK_RUNS],
        });
      }
      const tekton =
        /^\/apis\/tekton\.dev\/v1\/namespaces\/([^/]+)\/(pipelineruns|taskruns)(?:\/([^/]+))?$/.exec(
          path,
        );
      if (tekton && api.authorize) {
        const [, namespace, resource, name] = tekton;
        const verb =
          req.method === "GET"
            ? url.searchParams.get("watch") === "true"
              ? "watch"
              : name === undefined
                ? "list"
                : "get"
            : (({ PATCH: "patch", PUT: "update" } as Record<string, string>)[req.method ?? ""] ??
              (req.method ?? "").toLowerCase());
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
        if (!api.authorize(token, verb, resource, namespace)) {
          return send(
            403,
            status(403, "Forbidden", `${resource}.tekton.dev is forbidden: cannot ${verb}`),
          );
        }
      }
      if (tekton?.[2] === "taskruns") {
        const [, namespace, , name] = tekton;
        const inNamespace = api.taskRuns.get(namespace);
        if (req.method !== "GET" || name !== undefined || !inNamespace) {
          return send(404, status(404, "NotFound", `the fake serves no ${req.method} ${path}`));
        }
        const selector = url.searchParams.get("labelSelector") ?? "";
        return send(200, {
          apiVersion: "tekton.dev/v1",
          kind: "TaskRunList",
          metadata: { resourceVersion: "1000" },
          items: [...inNamespace.values()].filter((run) => selects(selector, run.metadata.labels)),
        });
      }
      const match =
        /^\/apis\/tekton\.dev\/v1\/namespaces\/([^/]+)\/pipelineruns(?:\/([^/]+))?$/.exec(path);
      const inNamespace = match ? runs.get(match[1]) : undefined;
      if (!match || !inNamespace) {
        return send(404, status(404, "NotFound", `the fake serves no ${req.method} ${path}`));
      }
      const [, namespace, name] = match;
      if (req.method === "GET" && name === undefined) {
        if (api.refuseList) {
          return send(
            403,
            status(403, "Forbidden", `pipelineruns.tekton.dev is forbidden in ${namespace}`),
          );
        }
        const selector = url.searchParams.get("labelSelector") ?? "";
        return send(200, {
          apiVersion: "tekton.dev/v1",
          kind: "PipelineRunList",
          metadata: { resourceVersion: "1000" },
          items: [...inNamespace.values()].filter((run) => selects(selector, run.metadata.labels)),
        });
      }
      if (req.method === "GET" && name !== undefined && !api.refuseGet) {
        const run = inNamespace.get(name);
        if (!run) return send(404, status(404, "NotFound", `pipelineruns "${name}" not found`));
        return send(200, run);
      }
      if (req.method === "PATCH" && name !== undefined) {
        const run = inNamespace.get(name);
        if (!run) return send(404, status(404, "NotFound", `pipelineruns "${name}" not found`));
        const refused = api.refusePatch.get(name);
        if (refused !== undefined) {
          return send(refused, status(refused, "Invalid", `refused by the fake for ${name}`));
        }
        if (req.headers["content-type"] !== "application/merge-patch+json") {
          return send(415, status(415, "UnsupportedMediaType", "merge patches only"));
        }
        const patch = JSON.parse(body);
        run.spec = { ...run.spec, ...patch.spec };
        return send(200, run);
      }
      // watch, update, delete (and GET with refuseGet): the cancel Role grants none.
      return send(403, status(403, "Forbidden", `${req.method} ${path} is not granted`));
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  api.url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  api.close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return api;
}

/**
 * A kubeconfig pointing at `server` with a bearer token standing in for the SA token (and the
 * PEM CA that signed an https server's certificate).
 */
export function kubeconfig(
  server: string,
  namespace: string,
  token: string,
  caPem?: string,
): string {
  const ca = caPem
    ? { "certificate-authority-data": Buffer.from(caPem, "utf8").toString("base64") }
    : {};
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "fake", cluster: { server, ...ca } }],
    users: [{ name: "tekton-cancel", user: { token } }],
    contexts: [{ name: "fake", context: { cluster: "fake", user: "tekton-cancel", namespace } }],
    "current-context": "fake",
  });
}
