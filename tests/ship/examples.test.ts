// The example application (examples/hello-python) and its operations repo: the service answers
// as the book's does, the image is pinned and non-root, and both repos fit Pulumi.dev.yaml's
// app config, so the pipeline builds the Dockerfile and patches the right container.
import "../harness/mocks";
import * as assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { parseStackConfig } from "../../config/load";
import { pinnedImageError } from "../../config/validators";
import { REPO_ROOT, exampleConfig } from "../harness/program";

const APP_DIR = path.join(REPO_ROOT, "examples", "hello-python");
const OPS_DIR = path.join(REPO_ROOT, "examples", "hello-python-operations");
const config = parseStackConfig(exampleConfig("dev"));
const app = config.apps.find((candidate) => candidate.name === "hello-python")!;

function get(port: number, urlPath: string, method = "GET") {
  return new Promise<{ status: number; type?: string; body: string }>((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, path: urlPath, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode!, type: res.headers["content-type"], body }),
      );
    });
    request.on("error", reject);
    request.end();
  });
}

function yamlObjects(file: string): any[] {
  const docs = parseAllDocuments(fs.readFileSync(file, "utf8"));
  for (const doc of docs) assert.deepEqual(doc.errors, [], file);
  return docs.map((doc) => doc.toJS()).filter((object) => object !== null);
}

describe("example application", function () {
  this.timeout(30000);

  describe("hello-python service", () => {
    const python = ["python3", "python"].find(
      (candidate) => spawnSync(candidate, ["--version"]).status === 0,
    );
    let server: ChildProcess | undefined;
    let port = 0;
    let log = "";

    before(async function () {
      if (!python) {
        console.log("    (python3 not found: skipping the service test)");
        this.skip();
      }
      // Port 0: the OS picks a free one; the service logs the one it got.
      server = spawn(python!, [path.join(APP_DIR, "source", "app.py")], {
        env: { ...process.env, PORT: "0" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      port = await new Promise<number>((resolve, reject) => {
        server!.stdout!.on("data", (chunk) => {
          log += chunk;
          const match = /listening on port (\d+)/.exec(log);
          if (match) resolve(Number(match[1]));
        });
        server!.stderr!.on("data", (chunk) => (log += chunk));
        server!.on("exit", (code) => reject(new Error(`service exited (${code}): ${log}`)));
      });
    });

    after(() => {
      if (server && server.exitCode === null) server.kill("SIGKILL");
    });

    it('answers GET / with {"msg": "hello world!", "host": <hostname>} as JSON', async () => {
      const response = await get(port, "/");
      assert.equal(response.status, 200);
      assert.equal(response.type, "application/json");
      assert.deepEqual(JSON.parse(response.body), { msg: "hello world!", host: os.hostname() });
    });

    it("has a health endpoint for the probes and 404s elsewhere", async () => {
      assert.equal((await get(port, "/healthz")).status, 200);
      const missing = await get(port, "/nope");
      assert.equal(missing.status, 404);
      assert.equal(missing.type, "application/json");
    });

    it("does not reveal the Python version", async () => {
      const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get({ host: "127.0.0.1", port, path: "/" }, resolve).on("error", reject),
      );
      response.resume();
      assert.doesNotMatch(String(response.headers.server), /Python\/\d/);
    });

    it("exits cleanly on SIGTERM (as Kubernetes stops a pod)", async () => {
      const exited = new Promise<number | null>((resolve) => server!.on("exit", resolve));
      server!.kill("SIGTERM");
      assert.equal(await exited, 0, log);
    });
  });

  describe("image", () => {
    const dockerfile = fs.readFileSync(path.join(APP_DIR, app.dockerfile), "utf8");
    const instructions = dockerfile
      .replace(/\\\n/g, " ")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    const valuesOf = (instruction: string) =>
      instructions
        .filter((line) => line.toUpperCase().startsWith(`${instruction} `))
        .map((line) => line.slice(instruction.length + 1).trim());

    it("is built from the Dockerfile and context that Pulumi.dev.yaml names", () => {
      assert.ok(fs.statSync(path.join(APP_DIR, app.contextDir)).isDirectory());
      assert.ok(fs.existsSync(path.join(APP_DIR, app.contextDir, "app.py")));
    });

    it("uses a pinned base image", () => {
      const bases = valuesOf("FROM").map((value) => value.split(/\s+/)[0]);
      assert.ok(bases.length > 0);
      for (const base of bases) assert.equal(pinnedImageError(base), undefined, base);
    });

    it("runs as a numeric non-root user and exposes 8080", () => {
      const users = valuesOf("USER");
      assert.ok(users.length > 0, "no USER");
      const user = users[users.length - 1].split(":")[0];
      assert.match(user, /^\d+$/, "numeric, so runAsNonRoot can be verified");
      assert.notEqual(Number(user), 0);
      assert.deepEqual(valuesOf("EXPOSE"), ["8080"]);
    });
  });

  describe("operations repo", () => {
    const deploymentFile = path.join(OPS_DIR, app.deploymentFile);

    it("holds only the Deployment in the file the pipeline patches", () => {
      // The pipeline's `kubectl set image --local` works on every object in the file.
      const objects = yamlObjects(deploymentFile);
      assert.equal(objects.length, 1);
      assert.equal(objects[0].kind, "Deployment");
      assert.equal(objects[0].metadata.name, "python-hello");
    });

    it(`has the container the pipeline patches (${app.containerName}) on the pipeline's image repository`, () => {
      const [deployment] = yamlObjects(deploymentFile);
      const containers: any[] = deployment.spec.template.spec.containers;
      const container = containers.find((c) => c.name === app.containerName);
      assert.ok(container, `no container ${app.containerName}`);
      const image: string = container.image;
      assert.equal(
        image.slice(0, image.lastIndexOf(":")),
        `${config.registry.host}/${app.imageRepository}`,
      );
      assert.equal(pinnedImageError(image), undefined);
    });

    it("runs non-root with probes on 8080, resources and no privilege escalation", () => {
      const [deployment] = yamlObjects(deploymentFile);
      const pod = deployment.spec.template.spec;
      const container = pod.containers.find((c: any) => c.name === app.containerName);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(container.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
      const ports = new Map<string, number>(
        container.ports.map((p: any) => [p.name, p.containerPort]),
      );
      for (const probe of ["readinessProbe", "livenessProbe"]) {
        const target = container[probe]?.httpGet?.port;
        assert.equal(ports.get(target) ?? target, 8080, probe);
        assert.equal(container[probe].httpGet.path, "/healthz", probe);
      }
      assert.ok(container.resources?.requests?.cpu && container.resources?.requests?.memory);
      assert.ok(container.resources?.limits?.memory);
    });

    it("has a Service that selects the Deployment's pods on their http port", () => {
      const [deployment] = yamlObjects(deploymentFile);
      const services = fs
        .readdirSync(path.dirname(deploymentFile))
        .flatMap((file) => yamlObjects(path.join(path.dirname(deploymentFile), file)))
        .filter((object) => object.kind === "Service");
      assert.equal(services.length, 1);
      const labels = deployment.spec.template.metadata.labels;
      for (const [key, value] of Object.entries(services[0].spec.selector)) {
        assert.equal(labels[key], value, `selector ${key}`);
      }
      assert.equal(services[0].spec.ports[0].targetPort, "http");
    });
  });
});
