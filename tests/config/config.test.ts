import "../harness/mocks";
import * as assert from "node:assert/strict";
import { ConfigError, configKey, parseStackConfig } from "../../config/load";
import { exampleConfig, runProgram, withStructured } from "../harness/program";

type Raw = Record<string, string>;
const app = (edit: (app: any) => void) => (config: Raw) =>
  withStructured(config, "apps", (apps) => {
    edit(apps[0]);
    return apps;
  });
const listener = (edit: (listener: any) => void) => (config: Raw) =>
  withStructured(config, "listener", (l) => {
    edit(l);
    return l;
  });

/** Each bad config: what to change in the example, and the key (and words) its error must name. */
const BAD_CONFIGS: { what: string; change: (config: Raw) => Raw; key: string; says: RegExp }[] = [
  {
    what: "missing gitSsh",
    change: (c) => withStructured(c, "gitSsh", () => undefined),
    key: "tekton-gitlab:gitSsh",
    says: /required/,
  },
  {
    what: "missing app field",
    change: app((a) => delete a.sourceProject),
    key: "tekton-gitlab:apps[0].sourceProject",
    says: /required/,
  },
  {
    what: "app name not a DNS label",
    change: app((a) => (a.name = "Hello_Python")),
    key: "tekton-gitlab:apps[0].name",
    says: /DNS-1035 label/,
  },
  {
    what: "namespace not a DNS label",
    change: app((a) => (a.namespace = "build.ns")),
    key: "tekton-gitlab:apps[0].namespace",
    says: /DNS label/,
  },
  {
    what: "duplicate app names",
    change: (c) =>
      withStructured(c, "apps", (apps) => [apps[0], { ...apps[0], namespace: "other" }]),
    key: "tekton-gitlab:apps[1].name",
    says: /unique name.*apps\[0\]/,
  },
  {
    what: "duplicate namespaces (explicit and default)",
    change: (c) =>
      withStructured(c, "apps", (apps) => [
        { ...apps[0], name: "one", namespace: "two-build" },
        { ...apps[0], name: "two", namespace: undefined },
      ]),
    key: "tekton-gitlab:apps[1].namespace",
    says: /unique namespace/,
  },
  {
    what: "a per-app webhookHost (replaced by the shared listener's host)",
    change: app((a) => (a.webhookHost = "orders.build.example.com")),
    key: "tekton-gitlab:apps[0].webhookHost",
    says: /no longer a per-app key.*set tekton-gitlab:listener\.host instead/,
  },
  {
    what: "a per-app ingress (replaced by listener.ingress)",
    change: app((a) => (a.ingress = { className: "nginx" })),
    key: "tekton-gitlab:apps[0].ingress",
    says: /no longer a per-app key.*set tekton-gitlab:listener\.ingress instead/,
  },
  {
    what: "a per-app webhook (replaced by listener.webhook)",
    change: app((a) => (a.webhook = { tls: true })),
    key: "tekton-gitlab:apps[0].webhook",
    says: /no longer a per-app key.*set tekton-gitlab:listener\.webhook instead/,
  },
  {
    what: "apps without a listener host",
    change: (c) => withStructured(c, "listener", (l) => ({ ...l, host: undefined })),
    key: "tekton-gitlab:listener.host",
    says: /required when there is at least one app/,
  },
  {
    what: "no listener at all with apps",
    change: (c) => withStructured(c, "listener", () => undefined),
    key: "tekton-gitlab:listener.host",
    says: /required when there is at least one app/,
  },
  {
    what: "an app in the listener's namespace (it would hold app Secrets)",
    change: app((a) => (a.namespace = "tekton-gitlab-listener")),
    key: "tekton-gitlab:apps[0].namespace",
    says: /other than the listener's/,
  },
  {
    what: "zero pipeline timeout",
    change: app((a) => (a.pipelineRun = { timeout: "0s" })),
    key: "tekton-gitlab:apps[0].pipelineRun.timeout",
    says: /above zero/,
  },
  {
    what: "known_hosts whose only entry for the host is revoked",
    change: (c) =>
      withStructured(c, "gitSsh", (s) => ({ ...s, knownHosts: `@revoked ${s.knownHosts}` })),
    key: "tekton-gitlab:gitSsh.knownHosts",
    says: /expected an entry for gitlab-gitlab-shell/,
  },
  {
    what: "project path given as URL",
    change: app((a) => (a.sourceProject = "https://gitlab.example.com/root/hello-python.git")),
    key: "tekton-gitlab:apps[0].sourceProject",
    says: /GitLab project path/,
  },
  {
    what: "project path without namespace",
    change: app((a) => (a.operationsProject = "hello-python-operations")),
    key: "tekton-gitlab:apps[0].operationsProject",
    says: /group\/project/,
  },
  {
    what: "branch that is not a valid ref",
    change: app((a) => (a.branch = "feature..x")),
    key: "tekton-gitlab:apps[0].branch",
    says: /valid git branch name/,
  },
  {
    what: "branch given as full ref",
    change: app((a) => (a.branch = "refs/heads/main")),
    key: "tekton-gitlab:apps[0].branch",
    says: /short name/,
  },
  {
    what: "branch with a double quote",
    change: app((a) => (a.branch = 'fix"quote')),
    key: "tekton-gitlab:apps[0].branch",
    says: /Tekton Triggers cannot carry it/,
  },
  {
    what: "operations branch that is not a valid ref",
    change: app((a) => (a.operationsBranch = "deploy..x")),
    key: "tekton-gitlab:apps[0].operationsBranch",
    says: /valid git branch name/,
  },
  {
    what: "operations branch given as full ref",
    change: app((a) => (a.operationsBranch = "refs/heads/deploy")),
    key: "tekton-gitlab:apps[0].operationsBranch",
    says: /short name/,
  },
  {
    what: "version without v",
    change: (c) => withStructured(c, "tekton", (t) => ({ ...t, triggersVersion: "0.37.0" })),
    key: "tekton-gitlab:tekton.triggersVersion",
    says: /vX\.Y\.Z/,
  },
  {
    what: "known_hosts line that does not parse",
    change: (c) =>
      withStructured(c, "gitSsh", (s) => ({
        ...s,
        knownHosts: `${s.host} ssh-ed25519 not-base64!`,
      })),
    key: "tekton-gitlab:gitSsh.knownHosts",
    says: /line 1/,
  },
  {
    what: "known_hosts without the configured host",
    change: (c) => withStructured(c, "gitSsh", (s) => ({ ...s, port: 2222 })),
    key: "tekton-gitlab:gitSsh.knownHosts",
    says: /\[gitlab-gitlab-shell\.gitlab\.svc\.cluster\.local\]:2222/,
  },
  {
    what: "port out of range",
    change: (c) => withStructured(c, "gitSsh", (s) => ({ ...s, port: 0 })),
    key: "tekton-gitlab:gitSsh.port",
    says: /between 1 and 65535/,
  },
  {
    what: "CA that is not a certificate",
    change: (c) =>
      withStructured(c, "registry", (r) => ({
        ...r,
        caCert: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
      })),
    key: "tekton-gitlab:registry.caCert",
    says: /not a valid X\.509/,
  },
  {
    what: "CA that is a private key",
    change: (c) =>
      withStructured(c, "registry", (r) => ({ ...r, caCert: "-----BEGIN PRIVATE KEY-----\n" })),
    key: "tekton-gitlab:registry.caCert",
    says: /PEM certificate/,
  },
  {
    what: "unknown app key (typo)",
    change: app((a) => (a.contextdir = "source")),
    key: "tekton-gitlab:apps[0].contextdir",
    says: /unknown key.*contextDir/,
  },
  {
    what: "unknown top-level key (typo)",
    change: (c) => ({ ...c, "tekton-gitlab:registy": "{}" }),
    key: "tekton-gitlab:registy",
    says: /unknown key.*tekton-gitlab:registry/,
  },
  {
    what: "registry username without password",
    change: (c) => {
      const copy = { ...c };
      delete copy["tekton-gitlab:registryPassword"];
      return copy;
    },
    key: "tekton-gitlab:registryPassword",
    says: /required when .*registry\.username/,
  },
  {
    what: "registry host with scheme",
    change: (c) =>
      withStructured(c, "registry", (r) => ({ ...r, host: "https://docker.example.com" })),
    key: "tekton-gitlab:registry.host",
    says: /without scheme/,
  },
  {
    what: "image with :latest",
    change: (c) =>
      withStructured(c, "images", () => ({ kubectl: "registry.k8s.io/kubectl:latest" })),
    key: "tekton-gitlab:images.kubectl",
    says: /not ':latest'/,
  },
  {
    what: "untagged image",
    change: (c) => withStructured(c, "images", () => ({ git: "alpine/git" })),
    key: "tekton-gitlab:images.git",
    says: /pinned by tag or digest/,
  },
  {
    what: "dockerfile escaping the repository",
    change: app((a) => (a.dockerfile = "../Dockerfile")),
    key: "tekton-gitlab:apps[0].dockerfile",
    says: /inside the repository/,
  },
  {
    what: "GitLab management without a token",
    change: (c) => {
      const copy = { ...c };
      delete copy["gitlab:token"];
      return copy;
    },
    key: "gitlab:token",
    says: /GITLAB_TOKEN/,
  },
  {
    what: "apps given as a plain string",
    change: (c) => ({ ...c, "tekton-gitlab:apps": "hello-python" }),
    key: "tekton-gitlab:apps",
    says: /structured value/,
  },
  {
    what: "build memory limit not a Kubernetes quantity",
    change: app((a) => (a.build = { resources: { limits: { memory: "4 GB" } } })),
    key: "tekton-gitlab:apps[0].build.resources.limits.memory",
    says: /Kubernetes quantity such as 4Gi/,
  },
  {
    what: "build cpu request negative",
    change: app((a) => (a.build = { resources: { requests: { cpu: "-1" } } })),
    key: "tekton-gitlab:apps[0].build.resources.requests.cpu",
    says: /Kubernetes quantity such as 500m/,
  },
  {
    what: "build memory in millibytes (512m is half a byte)",
    change: app((a) => (a.build = { resources: { requests: { memory: "512m" } } })),
    key: "tekton-gitlab:apps[0].build.resources.requests.memory",
    says: /at least 64Mi.*512Mi/,
  },
  {
    what: "build memory request above the (default) limit",
    change: app((a) => (a.build = { resources: { requests: { memory: "6Gi" } } })),
    key: "tekton-gitlab:apps[0].build.resources.requests.memory",
    says: /at most limits\.memory \(4Gi, the default\), got 6Gi/,
  },
  {
    what: "build memory limit below the default request",
    change: app((a) => (a.build = { resources: { limits: { memory: "512Mi" } } })),
    key: "tekton-gitlab:apps[0].build.resources.limits.memory",
    says: /at least requests\.memory \(1Gi, the default\), got 512Mi/,
  },
  {
    what: "build resource Kaniko's step does not take",
    change: app((a) => (a.build = { resources: { limits: { gpu: "1" } } })),
    key: "tekton-gitlab:apps[0].build.resources.limits.gpu",
    says: /unknown key/,
  },
  {
    what: "plain-HTTP registry with a CA certificate",
    change: (c) => withStructured(c, "registry", (r) => ({ ...r, plainHttp: true })),
    key: "tekton-gitlab:registry.plainHttp",
    says: /no TLS.*caCert/,
  },
  {
    what: "webhook TLS on without a TLS Secret (GitLab refuses the controller's fake certificate)",
    change: listener((l) => (l.ingress = { className: "nginx" })),
    key: "tekton-gitlab:listener.ingress.tlsSecretName",
    says: /required while webhook\.tls is on.*useControllerDefaultCertificate: true/,
  },
  {
    what: "both a TLS Secret and the controller's default certificate",
    change: listener(
      (l) =>
        (l.ingress = {
          className: "nginx",
          tlsSecretName: "webhook-tls",
          useControllerDefaultCertificate: true,
        }),
    ),
    key: "tekton-gitlab:listener.ingress.useControllerDefaultCertificate",
    says: /either .*tlsSecretName.* or/,
  },
  {
    what: "layer cache TTL not a duration",
    change: app((a) => (a.build = { cache: { ttl: "two weeks" } })),
    key: "tekton-gitlab:apps[0].build.cache.ttl",
    says: /duration such as 168h/,
  },
  {
    what: "layer cache TTL of zero (Kaniko would never reuse a layer)",
    change: app((a) => (a.build = { cache: { ttl: "0h" } })),
    key: "tekton-gitlab:apps[0].build.cache.ttl",
    says: /above zero/,
  },
  {
    what: "layer cache repository not an image repository path",
    change: app((a) => (a.build = { cache: { repository: "Team/Cache:latest" } })),
    key: "tekton-gitlab:apps[0].build.cache.repository",
    says: /image repository path/,
  },
  {
    what: "layer cache switch not a boolean",
    change: app((a) => (a.build = { cache: { enabled: "off" } })),
    key: "tekton-gitlab:apps[0].build.cache.enabled",
    says: /expected boolean/,
  },
  {
    what: "cancel-in-progress switch not a boolean",
    change: app((a) => (a.cancelSuperseded = "yes")),
    key: "tekton-gitlab:apps[0].cancelSuperseded",
    says: /expected boolean/,
  },
  {
    what: "Tekton Chains without the Tekton install it is ordered after",
    change: (c) =>
      withStructured(c, "tekton", (t) => ({ ...t, install: false, chains: { install: true } })),
    key: "tekton-gitlab:tekton.chains.install",
    says: /tekton\.install: true/,
  },
  {
    what: "Tekton Chains version not a release version",
    change: (c) =>
      withStructured(c, "tekton", (t) => ({ ...t, chains: { install: true, version: "latest" } })),
    key: "tekton-gitlab:tekton.chains.version",
    says: /release version/,
  },
  {
    what: "unknown Tekton Chains key",
    change: (c) =>
      withStructured(c, "tekton", (t) => ({ ...t, chains: { install: true, keyRotaton: "1" } })),
    key: "tekton-gitlab:tekton.chains.keyRotaton",
    says: /did you mean keyRotation/,
  },
  {
    what: "Tekton Pruner without the Tekton install it is ordered after",
    change: (c) =>
      withStructured(c, "tekton", (t) => ({ ...t, install: false, pruner: { install: true } })),
    key: "tekton-gitlab:tekton.pruner.install",
    says: /tekton\.install: true/,
  },
  {
    what: "Tekton Pruner version not a release version",
    change: (c) => withStructured(c, "tekton", (t) => ({ ...t, pruner: { version: "0.4.1" } })),
    key: "tekton-gitlab:tekton.pruner.version",
    says: /release version vX\.Y\.Z/,
  },
  {
    what: "retention limit above the pruner's cluster-wide historyLimit",
    change: app((a) => (a.retention = { successfulHistoryLimit: 101 })),
    key: "tekton-gitlab:apps[0].retention.successfulHistoryLimit",
    says: /at most 100 runs/,
  },
  {
    what: "retention limit negative",
    change: app((a) => (a.retention = { failedHistoryLimit: -1 })),
    key: "tekton-gitlab:apps[0].retention.failedHistoryLimit",
    says: /0 or more runs/,
  },
  {
    what: "retention limit not a whole number",
    change: app((a) => (a.retention = { failedHistoryLimit: 2.5 })),
    key: "tekton-gitlab:apps[0].retention.failedHistoryLimit",
    says: /expected int/,
  },
  {
    what: "retention TTL above the pruner's 30-day maximum",
    change: app((a) => (a.retention = { ttlSecondsAfterFinished: 2592001 })),
    key: "tekton-gitlab:apps[0].retention.ttlSecondsAfterFinished",
    says: /at most 2592000 seconds/,
  },
  {
    what: "retention TTL as a duration string (the pruner reads seconds)",
    change: app((a) => (a.retention = { ttlSecondsAfterFinished: "1h" })),
    key: "tekton-gitlab:apps[0].retention.ttlSecondsAfterFinished",
    says: /expected number/,
  },
  {
    what: "unknown retention key",
    change: app((a) => (a.retention = { successfulRunsLimit: 5 })),
    key: "tekton-gitlab:apps[0].retention.successfulRunsLimit",
    says: /unknown key/,
  },
  {
    // tektoncd/pruner v0.4.1 pkg/webhook/configmapvalidation.go `validateNamespaceForConfig`
    // refuses a namespace config there; pkg/reconciler/tektonpruner/controller.go
    // `getFilteredNamespaces` never prunes there.
    what: "build namespace the pruner refuses a namespace config in (openshift-*)",
    change: app((a) => (a.namespace = "openshift-builds")),
    key: "tekton-gitlab:apps[0].namespace",
    says: /Tekton Pruner.*kube-\*, openshift-\*, tekton-pipelines, tekton-operator.*retention/,
  },
  {
    what: "build namespace the pruner refuses a namespace config in (tekton-pipelines)",
    change: app((a) => (a.namespace = "tekton-pipelines")),
    key: "tekton-gitlab:apps[0].namespace",
    says: /Tekton Pruner/,
  },
  {
    what: "default build namespace the pruner refuses (name kube-*)",
    change: app((a) => {
      a.name = "kube-app";
      delete a.namespace;
    }),
    key: "tekton-gitlab:apps[0].namespace",
    says: /Tekton Pruner works in; "kube-app-build" \(the default <name>-build\)/,
  },
  {
    what: "Tekton Dashboard without the Tekton install it is ordered after",
    change: (c) =>
      withStructured(c, "tekton", (t) => ({ ...t, install: false, dashboard: { install: true } })),
    key: "tekton-gitlab:tekton.dashboard.install",
    says: /tekton\.install: true/,
  },
  {
    what: "dashboard Ingress without a TLS Secret (never exposed without TLS)",
    change: (c) =>
      withStructured(c, "tekton", (t) => ({
        ...t,
        dashboard: { install: true, ingress: { host: "tekton.example.com" } },
      })),
    key: "tekton-gitlab:tekton.dashboard.ingress.tlsSecretName",
    says: /required with dashboard\.ingress.*never exposed without TLS/,
  },
  {
    what: "dashboard Ingress without installing the dashboard",
    change: (c) =>
      withStructured(c, "tekton", (t) => ({
        ...t,
        dashboard: { ingress: { host: "tekton.example.com", tlsSecretName: "dashboard-tls" } },
      })),
    key: "tekton-gitlab:tekton.dashboard.ingress",
    says: /dashboard\.install: true/,
  },
  {
    what: "dashboard URL over plain http",
    change: (c) =>
      withStructured(c, "tekton", (t) => ({
        ...t,
        dashboard: { url: "http://tekton.example.com" },
      })),
    key: "tekton-gitlab:tekton.dashboard.url",
    says: /https URL.*without TLS/,
  },
  {
    what: "dashboard URL with a fragment (status links append their own)",
    change: (c) =>
      withStructured(c, "tekton", (t) => ({
        ...t,
        dashboard: { url: "https://tekton.example.com/#/" },
      })),
    key: "tekton-gitlab:tekton.dashboard.url",
    says: /no credentials, query or #/,
  },
  {
    what: "dashboard Ingress host not a host name",
    change: (c) =>
      withStructured(c, "tekton", (t) => ({
        ...t,
        dashboard: {
          install: true,
          ingress: { host: "https://tekton.example.com", tlsSecretName: "dashboard-tls" },
        },
      })),
    key: "tekton-gitlab:tekton.dashboard.ingress.host",
    says: /DNS host name/,
  },
  {
    what: "wrong type",
    change: (c) => withStructured(c, "tekton", (t) => ({ ...t, install: "yes" })),
    key: "tekton-gitlab:tekton.install",
    says: /expected boolean/,
  },
  {
    what: "status reporting neither a boolean nor an object",
    change: app((a) => (a.statusReporting = "yes")),
    key: "tekton-gitlab:apps[0].statusReporting",
    says: /expected true, false or an object \{ enabled, tokenSecretName/,
  },
  {
    what: "status reporting on without a token, with manageDeployKeys: false",
    change: app((a) => {
      a.manageDeployKeys = false;
      a.statusReporting = true;
    }),
    key: "tekton-gitlab:apps[0].statusReporting.tokenSecretName",
    says: /required .*manageDeployKeys: false.*existing Secret in the build namespace.*"token"/,
  },
  {
    what: "status token Secret name not a DNS subdomain",
    change: app((a) => (a.statusReporting = { tokenSecretName: "GitLab_Token" })),
    key: "tekton-gitlab:apps[0].statusReporting.tokenSecretName",
    says: /DNS subdomain/,
  },
  {
    what: "status token lifetime beyond GitLab's maximum",
    change: app((a) => (a.statusReporting = { tokenLifetimeDays: 400 })),
    key: "tekton-gitlab:apps[0].statusReporting.tokenLifetimeDays",
    says: /at most 365 days/,
  },
  {
    what: "status token lifetime not whole days",
    change: app((a) => (a.statusReporting = { tokenLifetimeDays: "1y" })),
    key: "tekton-gitlab:apps[0].statusReporting.tokenLifetimeDays",
    says: /whole number of days/,
  },
  {
    what: "status token rotated no earlier than it expires",
    change: app((a) => (a.statusReporting = { tokenLifetimeDays: 30, rotateBeforeDays: 30 })),
    key: "tekton-gitlab:apps[0].statusReporting.rotateBeforeDays",
    says: /fewer days than the token's lifetime \(tokenLifetimeDays: 30\)/,
  },
  {
    what: "status token rotation with a token the stack does not manage",
    change: app((a) => (a.statusReporting = { tokenSecretName: "ci-token", rotateBeforeDays: 7 })),
    key: "tekton-gitlab:apps[0].statusReporting.rotateBeforeDays",
    says: /only to the token the stack manages/,
  },
  {
    what: "status token role other than developer or maintainer",
    change: app((a) => (a.statusReporting = { tokenAccessLevel: "owner" })),
    key: "tekton-gitlab:apps[0].statusReporting.tokenAccessLevel",
    says: /developer.*maintainer/,
  },
  {
    what: "status token role with a token the stack does not manage",
    change: app(
      (a) => (a.statusReporting = { tokenSecretName: "ci-token", tokenAccessLevel: "maintainer" }),
    ),
    key: "tekton-gitlab:apps[0].statusReporting.tokenAccessLevel",
    says: /only to the token the stack manages/,
  },
  {
    what: "unknown status reporting key",
    change: app((a) => (a.statusReporting = { tokenSecretNmae: "ci-token" })),
    key: "tekton-gitlab:apps[0].statusReporting.tokenSecretNmae",
    says: /did you mean tokenSecretName/,
  },
];

function problemsOf(raw: Raw): string[] {
  try {
    parseStackConfig(raw, {});
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.problems;
  }
  return [];
}

describe("config validation", function () {
  it("accepts the example Pulumi.dev.yaml and fills defaults", () => {
    const config = parseStackConfig(exampleConfig(), {});
    assert.equal(config.apps.length, 1);
    const [app] = config.apps;
    assert.equal(app.namespace, "python-hello-build");
    assert.equal(app.dockerfile, "source/Dockerfile");
    assert.equal(app.manageDeployKeys, true);
    assert.equal(app.keyAlgorithm, "ED25519");
    assert.equal(app.pipelineRun.workspaceSize, "1Gi");
    assert.equal(app.operationsBranch, undefined);
    assert.equal(config.tekton.pipelinesVersion, "v1.15.0");
    assert.equal(config.hasRegistryPassword, true);
  });

  it("allows a namespace the Tekton Pruner skips when the app gets no pruner config", () => {
    const inOpenShift = app((a) => (a.namespace = "openshift-builds"));
    const noPruner = (c: Raw) =>
      withStructured(c, "tekton", (t) => ({ ...t, pruner: { install: false } }));
    assert.deepEqual(problemsOf(noPruner(inOpenShift(exampleConfig()))), []);
    const withRetention = app((a) => (a.retention = { successfulHistoryLimit: 5 }));
    assert.deepEqual(
      problemsOf(withRetention(noPruner(inOpenShift(exampleConfig())))).map((p) => p.split(":")[1]),
      ["apps[0].namespace"],
    );
  });

  it("resolves apps[].statusReporting: on with a managed token by default, off, or an existing Secret", () => {
    const resolve = (edit: (a: any) => void) =>
      parseStackConfig(app(edit)(exampleConfig()), {}).apps[0].statusReporting;
    assert.deepEqual(
      resolve(() => undefined),
      {
        enabled: true,
        context: "tekton/hello-python",
        secretName: "gitlab-status-token",
        managedToken: { lifetimeDays: 365, rotateBeforeDays: 30, accessLevel: "developer" },
      },
    );
    assert.deepEqual(
      resolve((a) => (a.statusReporting = false)),
      { enabled: false },
    );
    assert.deepEqual(
      resolve((a) => (a.statusReporting = { enabled: false, tokenLifetimeDays: 90 })),
      { enabled: false },
    );
    assert.deepEqual(
      resolve((a) => (a.statusReporting = { tokenLifetimeDays: 90, rotateBeforeDays: 14 })),
      {
        enabled: true,
        context: "tekton/hello-python",
        secretName: "gitlab-status-token",
        managedToken: { lifetimeDays: 90, rotateBeforeDays: 14, accessLevel: "developer" },
      },
    );
    // No GitLab resources managed: off unless a Secret is named, with or without manageDeployKeys.
    assert.deepEqual(
      resolve((a) => (a.manageDeployKeys = false)),
      { enabled: false },
    );
    for (const manageDeployKeys of [true, false]) {
      assert.deepEqual(
        resolve((a) => {
          a.manageDeployKeys = manageDeployKeys;
          a.statusReporting = { tokenSecretName: "gitlab-bot.token" };
        }),
        { enabled: true, context: "tekton/hello-python", secretName: "gitlab-bot.token" },
      );
    }
  });

  it("gives the Kaniko step default resources; an app overrides them key by key", () => {
    const [defaults] = parseStackConfig(exampleConfig(), {}).apps;
    assert.deepEqual(defaults.build.resources, {
      requests: { cpu: "500m", memory: "1Gi" },
      limits: { memory: "4Gi" },
    });
    const [custom] = parseStackConfig(
      app((a) => (a.build = { resources: { limits: { memory: "8Gi", cpu: "2" } } }))(
        exampleConfig(),
      ),
      {},
    ).apps;
    assert.deepEqual(custom.build.resources, {
      requests: { cpu: "500m", memory: "1Gi" },
      limits: { memory: "8Gi", cpu: "2" },
    });
    // Decimal, binary and exponent forms are all Kubernetes quantities.
    for (const memory of ["2G", "2.5Gi", "3e9", "2048Mi"]) {
      const [ok] = parseStackConfig(
        app((a) => (a.build = { resources: { limits: { memory } } }))(exampleConfig()),
        {},
      ).apps;
      assert.equal(ok.build.resources.limits.memory, memory);
    }
  });

  it("caches build layers by default; Tekton Chains is off by default", () => {
    const config = parseStackConfig(exampleConfig(), {});
    assert.deepEqual(config.apps[0].build.cache, { enabled: true, ttl: "168h" });
    assert.deepEqual(config.tekton.chains, { install: false, version: "v0.29.2" });
  });

  it("cancels superseded runs by default; an app turns it off with cancelSuperseded: false", () => {
    const config = parseStackConfig(exampleConfig(), {});
    assert.equal(config.apps[0].cancelSuperseded, true);
    const off = parseStackConfig(app((a) => (a.cancelSuperseded = false))(exampleConfig()), {});
    assert.equal(off.apps[0].cancelSuperseded, false);
  });

  it("keeps the registry on TLS unless plainHttp is set explicitly", () => {
    assert.equal(parseStackConfig(exampleConfig(), {}).registry.plainHttp, false);
    const plain = withStructured(exampleConfig(), "registry", ({ caCert: _c, ...r }) => ({
      ...r,
      plainHttp: true,
    }));
    assert.equal(parseStackConfig(plain, {}).registry.plainHttp, true);
  });

  it("derives namespace and dockerfile defaults from name and contextDir", () => {
    const raw = withStructured(exampleConfig(), "apps", (apps) => [
      { ...apps[0], namespace: undefined, dockerfile: undefined, contextDir: "app/" },
    ]);
    const [app] = parseStackConfig(raw, {}).apps;
    assert.equal(app.namespace, "hello-python-build");
    assert.equal(app.dockerfile, "app/Dockerfile");
  });

  it("takes the GitLab connection from the environment when config has none", () => {
    const raw = exampleConfig();
    delete raw["gitlab:baseUrl"];
    delete raw["gitlab:token"];
    assert.doesNotThrow(() =>
      parseStackConfig(raw, { GITLAB_BASE_URL: "https://gitlab.example.com", GITLAB_TOKEN: "x" }),
    );
    assert.deepEqual(
      problemsOf(raw).map((p) => p.split(":")[0] + ":" + p.split(":")[1]),
      ["gitlab:baseUrl", "gitlab:token"],
    );
  });

  it("needs no GitLab connection when no app manages GitLab resources", () => {
    const raw = withStructured(exampleConfig(), "apps", (apps) =>
      apps.map((a: any) => ({ ...a, manageDeployKeys: false })),
    );
    delete raw["gitlab:baseUrl"];
    delete raw["gitlab:token"];
    assert.doesNotThrow(() => parseStackConfig(raw, {}));
  });

  it("reports every problem at once", () => {
    const raw = withStructured(exampleConfig(), "apps", (apps) => [
      { ...apps[0], name: "Bad", branch: "a..b", containerName: "Bad_Name" },
    ]);
    const problems = problemsOf({ ...raw, "tekton-gitlab:typo": "1" });
    for (const key of ["apps[0].name", "apps[0].branch", "apps[0].containerName", "typo"]) {
      assert.ok(
        problems.some((p) => p.startsWith(`tekton-gitlab:${key}:`)),
        `${key} in ${problems.join("\n")}`,
      );
    }
  });

  it("accepts known_hosts wildcard patterns that cover the host", () => {
    const raw = withStructured(exampleConfig(), "gitSsh", (s) => ({
      ...s,
      knownHosts: s.knownHosts.replace(s.host, "*.gitlab.svc.cluster.local"),
    }));
    assert.doesNotThrow(() => parseStackConfig(raw, {}));
  });

  it("reports a structured key given as a plain string once", () => {
    const problems = problemsOf({
      ...exampleConfig(),
      "tekton-gitlab:gitSsh": "gitlab.example.com",
    });
    assert.deepEqual(
      problems.filter((p) => p.startsWith("tekton-gitlab:gitSsh")),
      [
        "tekton-gitlab:gitSsh: expected a structured value (set it in Pulumi.<stack>.yaml or with pulumi config set --path), got a plain string",
      ],
    );
  });

  it("names the environment variable when the GitLab URL came from it", () => {
    const raw = exampleConfig();
    delete raw["gitlab:baseUrl"];
    assert.throws(
      () => parseStackConfig(raw, { GITLAB_BASE_URL: "https://user:secret@gitlab.example.com" }),
      /gitlab:baseUrl \(from env GITLAB_BASE_URL\): expected an http\(s\) URL .* without credentials/,
    );
  });

  it("formats config keys as users write them", () => {
    assert.equal(configKey(["apps", 1, "namespace"]), "tekton-gitlab:apps[1].namespace");
    assert.equal(configKey(["registry"]), "tekton-gitlab:registry");
  });

  describe(`rejects bad config before registering anything (${BAD_CONFIGS.length} cases)`, () => {
    for (const bad of BAD_CONFIGS) {
      it(bad.what, async () => {
        const run = await runProgram(bad.change(exampleConfig()));
        assert.ok(run.error instanceof ConfigError, `expected ConfigError, got ${run.error}`);
        const problem = run.error.problems.find((p) => p.startsWith(`${bad.key}:`));
        assert.ok(problem, `no problem names ${bad.key}:\n${run.error.message}`);
        assert.match(problem, bad.says);
        assert.deepEqual(run.resources, [], "resources were registered despite bad config");
      });
    }
  });

  it("accepts webhook TLS without a TLS Secret only with an explicit choice", () => {
    const withIngress = (ingress: any, webhook: any) =>
      parseStackConfig(
        listener((l) => {
          l.ingress = ingress;
          l.webhook = webhook;
        })(exampleConfig()),
      ).listener;
    assert.equal(
      withIngress({ useControllerDefaultCertificate: true }, {}).ingress
        .useControllerDefaultCertificate,
      true,
    );
    // GitLab told not to verify (a lab with a self-signed certificate): its own explicit choice.
    assert.equal(withIngress({}, { sslVerification: false }).webhook.sslVerification, false);
    assert.equal(withIngress({}, { tls: false }).webhook.tls, false);
  });

  it("defaults the listener namespace and needs no host without apps", () => {
    const config = parseStackConfig(
      withStructured(exampleConfig(), "listener", (l) => ({ ...l, namespace: undefined })),
    );
    assert.equal(config.listener.namespace, "tekton-gitlab-listener");
    const empty = parseStackConfig(
      withStructured(
        withStructured(exampleConfig(), "apps", () => []),
        "listener",
        () => undefined,
      ),
    );
    assert.equal(empty.listener.host, undefined);
    assert.deepEqual(empty.apps, []);
  });

  describe("secrets set as plain config (they would sit in the state in plain text)", () => {
    it("refuses gitlab:token and registryPassword without --secret, both at once", async () => {
      const run = await runProgram(exampleConfig(), []);
      assert.ok(run.error instanceof ConfigError, `expected ConfigError, got ${run.error}`);
      const token = run.error.problems.find((p) => p.startsWith("gitlab:token:"));
      const password = run.error.problems.find((p) =>
        p.startsWith("tekton-gitlab:registryPassword:"),
      );
      assert.match(token ?? "", /plain.*pulumi config set --secret gitlab:token.*GITLAB_TOKEN/);
      assert.match(
        password ?? "",
        /plain.*pulumi config set --secret tekton-gitlab:registryPassword/,
      );
      // No value in the error: it must not print the secret it complains about.
      assert.doesNotMatch(run.error.message, /glpat-test-token-not-real|test-registry-password/);
      assert.deepEqual(run.resources, [], "resources were registered despite bad config");
    });

    it("refuses one plain key while the other is secret", async () => {
      const run = await runProgram(exampleConfig(), ["tekton-gitlab:registryPassword"]);
      assert.ok(run.error instanceof ConfigError, `expected ConfigError, got ${run.error}`);
      assert.deepEqual(
        run.error.problems.map((p) => p.split(":").slice(0, 2).join(":")),
        ["gitlab:token"],
      );
    });

    it("accepts both as secrets, and no check for a key that is not set", async () => {
      const secret = await runProgram(exampleConfig());
      assert.ifError(secret.error);
      const withoutToken = { ...exampleConfig() };
      delete withoutToken["gitlab:token"];
      // Fails only for the missing token (runProgram hides a developer's GITLAB_TOKEN).
      const run = await runProgram(withoutToken);
      assert.ok(run.error instanceof ConfigError);
      assert.deepEqual(
        run.error.problems.filter((p) => /plain/.test(p)),
        [],
      );
    });
  });
});
