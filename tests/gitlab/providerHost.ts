// Drives providerHostProcess.js: serialized providers run in a fresh `node` process started in
// the project directory, the way the engine runs them, with the CRUD sequence the engine
// would send. Loopback only; every call is bounded and the process ends with `close()`.
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";

/** The project directory: where the engine starts the dynamic provider host. */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

const CALL_TIMEOUT_MS = 60_000;

export interface HostError {
  name?: string;
  message: string;
}

/** The host's answer: its result, or the error it would report to the engine. */
export type HostAnswer = { result: any; error?: undefined } | { error: HostError; result?: never };

export class ProviderHost {
  private next = 1;
  private readonly pending = new Map<number, (answer: HostAnswer) => void>();
  private stderr = "";

  private constructor(
    private readonly child: ChildProcess,
    /** Whether a TypeScript loader was registered before any provider loaded (it must not be). */
    readonly tsLoaderAtStart: boolean,
  ) {
    child.stderr?.on("data", (chunk) => (this.stderr += String(chunk)));
  }

  /** Starts a host whose providers get `config` (e.g. `gitlab:baseUrl`) from `configure`. */
  static async start(config: Record<string, string>): Promise<ProviderHost> {
    const env: NodeJS.ProcessEnv = { ...process.env, PROVIDER_HOST_CONFIG: JSON.stringify(config) };
    // Nothing of this test process's TypeScript setup may reach the host.
    delete env.NODE_OPTIONS;
    delete env.GITLAB_BASE_URL;
    delete env.GITLAB_TOKEN;
    const child = spawn(process.execPath, [path.join(__dirname, "providerHostProcess.js")], {
      cwd: PROJECT_DIR,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const lines = readline.createInterface({ input: child.stdout! });
    const started: { host?: ProviderHost } = {};
    const ready = new Promise<boolean>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`provider host exited (${code})`)));
      lines.on("line", (line) => {
        const message = JSON.parse(line);
        if (message.ready) return resolve(message.tsLoaderAtStart);
        started.host?.pending.get(message.n)?.(message);
        started.host?.pending.delete(message.n);
      });
    });
    started.host = new ProviderHost(child, await withTimeout(ready, "start"));
    return started.host;
  }

  /** `provider[method](...args)` for the provider serialized as `text`. */
  call(text: string, method: string, ...args: unknown[]): Promise<HostAnswer> {
    const n = this.next++;
    const answer = new Promise<HostAnswer>((resolve) => this.pending.set(n, resolve));
    this.child.stdin!.write(`${JSON.stringify({ n, text, method, args })}\n`);
    return withTimeout(answer, `${method} (host stderr: ${this.stderr})`);
  }

  /** Like `call`, but a host error fails the test. */
  async ok(text: string, method: string, ...args: unknown[]): Promise<any> {
    const answer = await this.call(text, method, ...args);
    if (answer.error) throw new Error(`${method} failed in the host: ${answer.error.message}`);
    return answer.result;
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.stdin!.end();
    await withTimeout(exited, "exit").catch(() => this.child.kill());
  }
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
