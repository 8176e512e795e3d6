// Pulumi's own dynamic provider host (@pulumi/pulumi 3.276.0 `cmd/dynamic-provider`), started as
// the engine starts it: a plain `node` process in the project directory (the plugin script
// `pulumi-resource-pulumi-nodejs` runs `node $(require.resolve('@pulumi/pulumi/cmd/
// dynamic-provider'))`; pkg/engine/project.go `getPwdMain` gives the directory). The test plays
// the engine over gRPC: Configure with the stack config, then Check/Diff/Create/Read/Update/
// Delete with the properties the engine would send (each carrying its `__provider`).
// Loopback only; every call is bounded and `close()` ends the process.
import * as grpc from "@grpc/grpc-js";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";

/* eslint-disable @typescript-eslint/no-require-imports */
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const structproto = require("google-protobuf/google/protobuf/struct_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

/** The project directory: where the engine starts the dynamic provider host. */
const PROJECT_DIR = path.resolve(__dirname, "..", "..");

const CALL_TIMEOUT_MS = 60_000;

type Props = Record<string, any>;

export class ProviderHost {
  private stderr = "";

  private constructor(
    private readonly child: ChildProcess,
    private readonly client: any,
  ) {
    child.stderr?.on("data", (chunk) => (this.stderr += String(chunk)));
  }

  /** Starts the host and configures it with `config` (e.g. `gitlab:baseUrl`) as the engine does. */
  static async start(config: Record<string, string>): Promise<ProviderHost> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    // Nothing of this test process's TypeScript setup or GitLab settings may reach the host.
    delete env.NODE_OPTIONS;
    delete env.GITLAB_BASE_URL;
    delete env.GITLAB_TOKEN;
    const script = require.resolve("@pulumi/pulumi/cmd/dynamic-provider", {
      paths: [PROJECT_DIR],
    });
    // The one argument is the engine's address; this host never dials it.
    const child = spawn(process.execPath, [script, "127.0.0.1:1"], {
      cwd: PROJECT_DIR,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const port = await withTimeout(
      new Promise<string>((resolve, reject) => {
        child.once("error", reject);
        child.once("exit", (code) => reject(new Error(`provider host exited (${code})`)));
        readline.createInterface({ input: child.stdout! }).once("line", resolve);
      }),
      "start",
    );
    const client = new provrpc.ResourceProviderClient(
      `127.0.0.1:${port.trim()}`,
      grpc.credentials.createInsecure(),
    );
    const host = new ProviderHost(child, client);
    const req = new provproto.ConfigureRequest();
    req.setArgs(structproto.Struct.fromJavaScript(config));
    await host.rpc("configure", req);
    return host;
  }

  async check(olds: Props, news: Props): Promise<{ inputs: Props; failures: unknown[] }> {
    const req = new provproto.CheckRequest();
    req.setUrn(URN);
    req.setOlds(struct(olds));
    req.setNews(struct(news));
    const resp = await this.rpc("check", req);
    const failures = resp
      .getFailuresList()
      .map((f: any) => ({ property: f.getProperty(), reason: f.getReason() }));
    return { inputs: resp.getInputs().toJavaScript(), failures };
  }

  /** `changes`: "some", "none" or "unknown", as the engine reads DiffResponse. */
  async diff(
    id: string,
    olds: Props,
    news: Props,
  ): Promise<{ changes: string; replaces: string[] }> {
    const req = change(new provproto.DiffRequest(), id, olds, news);
    const resp = await this.rpc("diff", req);
    const names = { 0: "unknown", 1: "none", 2: "some" } as Record<number, string>;
    return { changes: names[resp.getChanges()], replaces: resp.getReplacesList() };
  }

  async create(properties: Props): Promise<{ id: string; properties: Props }> {
    const req = new provproto.CreateRequest();
    req.setUrn(URN);
    req.setProperties(struct(properties));
    const resp = await this.rpc("create", req);
    return { id: resp.getId(), properties: resp.getProperties().toJavaScript() };
  }

  async read(id: string, properties: Props): Promise<{ id: string; properties: Props }> {
    const req = new provproto.ReadRequest();
    req.setId(id);
    req.setUrn(URN);
    req.setProperties(struct(properties));
    const resp = await this.rpc("read", req);
    return { id: resp.getId(), properties: resp.getProperties()?.toJavaScript() ?? {} };
  }

  async update(id: string, olds: Props, news: Props): Promise<{ properties: Props }> {
    const req = change(new provproto.UpdateRequest(), id, olds, news);
    const resp = await this.rpc("update", req);
    return { properties: resp.getProperties().toJavaScript() };
  }

  async delete(id: string, properties: Props): Promise<void> {
    const req = new provproto.DeleteRequest();
    req.setId(id);
    req.setUrn(URN);
    req.setProperties(struct(properties));
    await this.rpc("delete", req);
  }

  async close(): Promise<void> {
    this.client.close();
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill();
    await withTimeout(exited, "exit");
  }

  private rpc(method: string, req: unknown): Promise<any> {
    const call = new Promise<any>((resolve, reject) => {
      this.client[method](req, (error: grpc.ServiceError | null, resp: unknown) => {
        if (error) reject(new Error(`host ${method}: ${error.details || error.message}`));
        else resolve(resp);
      });
    });
    return withTimeout(call, `${method} (host stderr: ${this.stderr})`);
  }
}

/** The host ignores the URN; the engine always sends one. */
const URN = "urn:pulumi:test::tekton-gitlab::pulumi-nodejs:dynamic/gitlab:Resource::test";

function struct(value: Props): unknown {
  return structproto.Struct.fromJavaScript(value);
}

/** What Diff and Update requests both carry: the resource and its old and new properties. */
interface ChangeRequest {
  setId(id: string): void;
  setUrn(urn: string): void;
  setOlds(olds: unknown): void;
  setNews(news: unknown): void;
}

function change<R extends ChangeRequest>(req: R, id: string, olds: Props, news: Props): R {
  req.setId(id);
  req.setUrn(URN);
  req.setOlds(struct(olds));
  req.setNews(struct(news));
  return req;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`provider host: ${what} timed out`)),
      CALL_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
