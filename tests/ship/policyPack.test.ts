// The policy pack as `pulumi preview --policy-pack policy` runs it: Pulumi's own runner starts
// policy/ (ts-node with type checking, the pack's package.json and tsconfig), and the test then
// plays the engine, sending resources over the analyzer gRPC protocol, with a secret and an
// unknown value as the engine encodes them.
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const POLICY_DIR = path.join(REPO_ROOT, "policy");

/** Modules the pack's runtime uses, resolved where @pulumi/pulumi resolves them. */
const fromPulumi = (id: string) =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(
    require.resolve(id, { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] }),
  );
const grpc = fromPulumi("@grpc/grpc-js");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb");
const analyzer = fromPulumi("@pulumi/pulumi/proto/analyzer_pb");
const { AnalyzerClient } = fromPulumi("@pulumi/pulumi/proto/analyzer_grpc_pb");

// How the engine marks a secret and an unknown string on the wire.
const secret = (value: unknown) => ({
  "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
  value,
});
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Starts the pack with Pulumi's runner; resolves with the port it serves on. */
function startPack(): Promise<{ child: ChildProcess; port: number }> {
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
  // The engine address is unused until the pack logs through it; the port is on stdout.
  const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], {
    cwd: POLICY_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => {
      stdout += chunk;
      const match = /^(\d+)\s*$/m.exec(stdout);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) =>
      reject(new Error(`policy pack exited (${code}) before serving:\n${stdout}\n${stderr}`)),
    );
  });
}

interface Diagnostic {
  policy: string;
  message: string;
  enforcementLevel: number;
}

describe("policy pack under Pulumi's runner", function () {
  // ts-node type-checks the pack on start; that takes seconds, not milliseconds.
  this.timeout(120000);
  let pack: { child: ChildProcess; port: number };
  let client: any;

  before(async () => {
    pack = await startPack();
    client = new AnalyzerClient(`127.0.0.1:${pack.port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client?.close();
    pack?.child.kill();
  });

  const urn = (type: string, name: string) => `urn:pulumi:dev::tekton-gitlab::${type}::${name}`;

  /** Fills in one resource as the engine sends it, on an AnalyzeRequest or AnalyzerResource. */
  function withResource(message: any, type: string, name: string, properties: unknown) {
    message.setType(type);
    message.setName(name);
    message.setUrn(urn(type, name));
    message.setProperties(Struct.fromJavaScript(properties));
    message.setOptions(new analyzer.AnalyzerResourceOptions());
    return message;
  }

  /** The diagnostics of one analyze or analyzeStack call, as plain objects. */
  function diagnostics(
    call: (done: (error: Error | null, response: any) => void) => void,
  ): Promise<Diagnostic[]> {
    return new Promise<Diagnostic[]>((resolve, reject) =>
      call((error, response) => {
        if (error) return reject(error);
        resolve(
          response.getDiagnosticsList().map((d: any) => ({
            policy: d.getPolicyname(),
            message: d.getMessage(),
            enforcementLevel: d.getEnforcementlevel(),
          })),
        );
      }),
    );
  }

  function analyze(type: string, name: string, properties: Record<string, unknown>) {
    const request = withResource(new analyzer.AnalyzeRequest(), type, name, properties);
    return diagnostics((done) => client.analyze(request, done));
  }

  it("serves the twelve policies (nine resource, three stack) as the tekton-gitlab pack", async () => {
    const info: any = await new Promise((resolve, reject) =>
      client.getAnalyzerInfo(
        new (fromPulumi("google-protobuf/google/protobuf/empty_pb").Empty)(),
        (e: Error | null, r: any) => (e ? reject(e) : resolve(r)),
      ),
    );
    assert.equal(info.getName(), "tekton-gitlab");
    assert.equal(info.getPoliciesList().length, 12);
  });

  function analyzeStack(resources: { type: string; name: string; properties: any }[]) {
    const request = new analyzer.AnalyzeStackRequest();
    request.setResourcesList(
      resources.map(({ type, name, properties }) =>
        withResource(new analyzer.AnalyzerResource(), type, name, properties),
      ),
    );
    return diagnostics((done) => client.analyzeStack(request, done));
  }

  it("reports an unconfined shared listener as advisory, not mandatory", async () => {
    const listener = {
      type: "kubernetes:triggers.tekton.dev/v1beta1:EventListener",
      name: "listener",
      properties: {
        metadata: { name: "tekton-gitlab", namespace: "tekton-gitlab-listener" },
        spec: { serviceAccountName: "tekton-gitlab-listener" },
      },
    };
    const binding = {
      type: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
      name: "runs",
      properties: {
        metadata: { name: "runs", namespace: "app-build" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "runs" },
        subjects: [
          {
            kind: "ServiceAccount",
            name: "tekton-gitlab-listener",
            namespace: "tekton-gitlab-listener",
          },
        ],
      },
    };
    const diagnostics = await analyzeStack([listener, binding]);
    assert.deepEqual(
      diagnostics.map((d) => d.policy),
      ["listener-runs-admission-policy"],
    );
    assert.equal(diagnostics[0].enforcementLevel, analyzer.EnforcementLevel.ADVISORY);
  });

  it("judges a binding by its role's rules in the stack (stack policy)", async () => {
    const RBAC = "kubernetes:rbac.authorization.k8s.io/v1";
    const binding = {
      type: `${RBAC}:ClusterRoleBinding`,
      name: "listener",
      properties: {
        metadata: { name: "listener" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "reader" },
        subjects: [{ kind: "ServiceAccount", name: "el", namespace: "app-build" }],
      },
    };
    const role = (resources: string[]) => ({
      type: `${RBAC}:ClusterRole`,
      name: "reader",
      properties: {
        metadata: { name: "reader" },
        rules: [{ apiGroups: [""], resources, verbs: ["get"] }],
      },
    });
    assert.deepEqual(await analyzeStack([role(["configmaps"]), binding]), []);
    const diagnostics = await analyzeStack([role(["secrets"]), binding]);
    assert.deepEqual(
      diagnostics.map((d) => d.policy),
      ["rbac-binding-roles-in-stack"],
    );
    assert.match(diagnostics[0].message, /grants ClusterRole reader, whose rules\[0\] secrets/);
    assert.equal(diagnostics[0].enforcementLevel, analyzer.EnforcementLevel.MANDATORY);
  });

  it("reports an OpenSSH key (a secret value) in an Opaque Secret as a mandatory violation", async () => {
    const key =
      "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key\n-----END OPENSSH PRIVATE KEY-----\n";
    const diagnostics = await analyze("kubernetes:core/v1:Secret", "leaky", {
      metadata: { name: "leaky" },
      type: "Opaque",
      stringData: { id_ed25519: secret(key) },
    });
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
    assert.equal(diagnostics[0].policy, "private-keys-in-ssh-auth-secrets");
    assert.match(diagnostics[0].message, /stringData\.id_ed25519/);
    assert.equal(diagnostics[0].enforcementLevel, analyzer.EnforcementLevel.MANDATORY);
  });

  it("judges no value unknown during preview (no advisory 'can't run policy')", async () => {
    // The webhook token of a new stack is generated, so unknown in its first preview.
    const diagnostics = await analyze("kubernetes:core/v1:Secret", "webhook-token", {
      metadata: { name: "webhook-token" },
      type: "Opaque",
      stringData: { token: secret(UNKNOWN_STRING) },
    });
    assert.deepEqual(diagnostics, []);
  });

  it("refuses, as a stack policy, a run-wide ServiceAccount listing the registry Secret", async () => {
    const resource = (type: string, name: string, properties: Record<string, unknown>) =>
      withResource(new analyzer.AnalyzerResource(), type, name, properties);
    const metadata = (name: string) => ({ name, namespace: "build" });
    const request = new analyzer.AnalyzeStackRequest();
    request.setResourcesList([
      resource("kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate", "template", {
        metadata: metadata("template"),
        spec: {
          resourcetemplates: [
            { kind: "PipelineRun", spec: { taskRunTemplate: { serviceAccountName: "builder" } } },
          ],
        },
      }),
      resource("kubernetes:core/v1:ServiceAccount", "builder", {
        metadata: metadata("builder"),
        secrets: [{ name: "registry" }],
      }),
      resource("kubernetes:core/v1:Secret", "registry", {
        metadata: metadata("registry"),
        type: "kubernetes.io/dockerconfigjson",
        stringData: { ".dockerconfigjson": secret("{}") },
      }),
    ]);
    const diagnostics: Diagnostic[] = await new Promise((resolve, reject) =>
      client.analyzeStack(request, (error: Error | null, response: any) =>
        error
          ? reject(error)
          : resolve(
              response.getDiagnosticsList().map((d: any) => ({
                policy: d.getPolicyname(),
                message: d.getMessage(),
                enforcementLevel: d.getEnforcementlevel(),
              })),
            ),
      ),
    );
    assert.deepEqual(
      diagnostics.map((d) => [d.policy, d.enforcementLevel]),
      [["no-run-wide-credentials", analyzer.EnforcementLevel.MANDATORY]],
    );
    assert.match(
      diagnostics[0].message,
      /lists Secret registry \(kubernetes\.io\/dockerconfigjson\)/,
    );
  });

  it("reports an unpinned step image in a Task", async () => {
    const diagnostics = await analyze("kubernetes:tekton.dev/v1:Task", "build", {
      apiVersion: "tekton.dev/v1",
      kind: "Task",
      metadata: { name: "build" },
      spec: {
        results: [
          { name: "IMAGE_URL", type: "string" },
          { name: "IMAGE_DIGEST", type: "string" },
        ],
        steps: [{ name: "build", image: "gcr.io/kaniko-project/executor:latest" }],
      },
    });
    assert.deepEqual(
      diagnostics.map((d) => d.policy),
      ["tekton-step-image-pinned"],
    );
  });
});
