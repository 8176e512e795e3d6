import "../harness/mocks";
import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { honourNamespacePrunerConfig } from "../../components/cluster/prunerInstall";
import { parseStackConfig } from "../../config/load";
import {
  PRUNER_GLOBAL_CONFIG,
  namespaceConfigText,
  namespacePrunerConfigMap,
} from "../../tekton/cluster/pruner";
import { exampleConfig, runProgram, withStructured } from "../harness/program";
import {
  CONFIG_FILE,
  CONFIG_MAP,
  TEKTON_RELEASES,
  findResource,
  resourcesOfType,
} from "../harness/registered";

/** tektoncd/pruner v0.4.1 pkg/config/config.go `PrunerConfig`: its yaml keys, nothing else. */
const PRUNER_CONFIG_KEYS = [
  "enforcedConfigLevel",
  "ttlSecondsAfterFinished",
  "successfulHistoryLimit",
  "failedHistoryLimit",
  "historyLimit",
];

const withApp = (config: Record<string, string>, edit: (app: any) => void) =>
  withStructured(config, "apps", (apps) => {
    edit(apps[0]);
    return apps;
  });
const withTekton = (config: Record<string, string>, edit: (tekton: any) => any) =>
  withStructured(config, "tekton", (t) => edit(t ?? {}));

function namespaceConfigMaps(run: Awaited<ReturnType<typeof runProgram>>) {
  return resourcesOfType(run, CONFIG_MAP).filter(
    (r) => r.inputs.metadata?.name === "tekton-pruner-namespace-spec",
  );
}

describe("Tekton Pruner (retention)", function () {
  it("installs the pinned Pruner release after Pipelines, as a child of the Tekton install", async () => {
    const run = await runProgram(exampleConfig());
    assert.ifError(run.error);
    const pruner = findResource(run, CONFIG_FILE, "tekton-pruner");
    assert.equal(pruner.inputs.file, `${TEKTON_RELEASES}/pruner/previous/v0.4.1/release.yaml`);
    const pipelines = findResource(run, CONFIG_FILE, "tekton-pipelines");
    assert.deepEqual(pruner.dependencies, [pipelines.urn]);
    // Directly under TektonInstall: the policy pack knows release objects by that parent.
    const install = findResource(run, "tekton-gitlab:cluster:TektonInstall", "tekton");
    assert.equal(pruner.parent, install.urn);
    // The CRD-retaining transform and the global-config one.
    assert.equal(pruner.transforms, 2);
  });

  it("uses the configured version and release mirror", async () => {
    const config = withTekton(exampleConfig(), (t) => ({
      ...t,
      releaseBaseUrl: "https://mirror.example.com/tekton/",
      pruner: { version: "v0.3.6" },
    }));
    const run = await runProgram(config);
    assert.ifError(run.error);
    assert.equal(
      findResource(run, CONFIG_FILE, "tekton-pruner").inputs.file,
      "https://mirror.example.com/tekton/pruner/previous/v0.3.6/release.yaml",
    );
    assert.deepEqual(run.values?.tekton.pruner, { version: "v0.3.6" });
  });

  describe("global config", () => {
    const release = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "tekton-pruner-default-spec",
        namespace: "tekton-pipelines",
        labels: {
          "app.kubernetes.io/part-of": "tekton-pruner",
          "pruner.tekton.dev/release": "v0.4.1",
          "pruner.tekton.dev/config-type": "global",
        },
      },
      // config/600-tekton-pruner-default-spec.yaml as released.
      data: { "global-config": "enforcedConfigLevel: global\nhistoryLimit: 100\n" },
    };

    it("rewrites the release's global config so namespace configs are honoured", async () => {
      const result = await honourNamespacePrunerConfig({
        custom: true,
        type: "kubernetes:core/v1:ConfigMap",
        name: "tekton-pipelines/tekton-pruner-default-spec",
        props: structuredClone(release),
        opts: { protect: false },
      });
      assert.ok(result);
      // The release's ValidatingWebhookConfiguration (config/601-webhook-configuration.yaml,
      // failurePolicy Fail) has no caBundle until the webhook's own Reconcile writes one
      // (pkg/webhook/configmapvalidation.go): while yaml/v2 applies the release's objects in
      // parallel, a create it selects can be refused. Without the config-type label its
      // objectSelector no longer matches this object; the pruner reads it by name.
      const { ["pruner.tekton.dev/config-type"]: configType, ...keptLabels } =
        release.metadata.labels;
      assert.equal(configType, "global");
      assert.deepEqual(result.props.metadata, { ...release.metadata, labels: keptLabels });
      assert.equal(result.props.kind, "ConfigMap");
      assert.equal(result.opts.protect, false);
      const global = parse(result.props.data["global-config"]);
      // At level `global` the pruner ignores namespace ConfigMaps (config.go getResourceFieldData).
      assert.equal(global.enforcedConfigLevel, "namespace");
      // The release's cap stays: namespaces without a config fall back to it, and the webhook
      // holds namespace limits to it (MAX_RETENTION_HISTORY).
      assert.equal(global.historyLimit, 100);
      assert.equal(global.ttlSecondsAfterFinished, undefined);
      for (const key of Object.keys(global)) assert.ok(PRUNER_CONFIG_KEYS.includes(key), key);
      assert.equal(result.props.data["global-config"], PRUNER_GLOBAL_CONFIG);
    });

    it("leaves every other object of the release alone", async () => {
      const others = [
        {
          type: "kubernetes:core/v1:ConfigMap",
          props: { metadata: { name: "config-logging-pruner", namespace: "tekton-pipelines" } },
        },
        // Same name elsewhere: not the pruner's global config.
        {
          type: "kubernetes:core/v1:ConfigMap",
          props: { metadata: { name: "tekton-pruner-default-spec", namespace: "other" } },
        },
        { type: "kubernetes:apps/v1:Deployment", props: structuredClone(release) },
      ];
      for (const other of others) {
        const result = await honourNamespacePrunerConfig({
          custom: true,
          name: "x",
          opts: {},
          ...other,
        });
        assert.equal(result, undefined, JSON.stringify(other));
      }
    });
  });

  describe("namespace config", () => {
    it("gives each build namespace the pruner's namespace ConfigMap with the default limits", async () => {
      const run = await runProgram(exampleConfig());
      assert.ifError(run.error);
      const [configMap] = namespaceConfigMaps(run);
      assert.ok(configMap, "no tekton-pruner-namespace-spec registered");
      assert.equal(configMap.inputs.metadata.namespace, "python-hello-build");
      // The names the pruner's controller and webhook select (tekton/cluster/pruner.ts).
      assert.equal(configMap.inputs.metadata.labels["app.kubernetes.io/part-of"], "tekton-pruner");
      assert.equal(configMap.inputs.metadata.labels["pruner.tekton.dev/config-type"], "namespace");
      assert.equal(
        configMap.inputs.metadata.labels["app.kubernetes.io/managed-by"],
        "tekton-gitlab",
      );
      assert.deepEqual(Object.keys(configMap.inputs.data), ["ns-config"]);
      assert.deepEqual(parse(configMap.inputs.data["ns-config"]), {
        successfulHistoryLimit: 10,
        failedHistoryLimit: 20,
      });
      // After its namespace and the pruner's webhook, which admits its create and its delete
      // (config/601-webhook-configuration.yaml: CREATE, UPDATE, DELETE, failurePolicy Fail); so
      // on destroy it goes while the webhook still serves.
      const namespace = findResource(run, "kubernetes:core/v1:Namespace", "hello-python-namespace");
      const pruner = findResource(run, CONFIG_FILE, "tekton-pruner");
      assert.ok(configMap.dependencies.includes(namespace.urn));
      assert.ok(configMap.dependencies.includes(pruner.urn));
      const app = findResource(run, "tekton-gitlab:app:Application", "hello-python");
      const policy = findResource(run, "tekton-gitlab:app:RetentionPolicy", "hello-python");
      assert.equal(policy.parent, app.urn);
    });

    it("writes an app's retention with the pruner's own key names", async () => {
      const config = withApp(exampleConfig(), (a) => {
        a.retention = {
          successfulHistoryLimit: 3,
          failedHistoryLimit: 0,
          ttlSecondsAfterFinished: 86400,
        };
      });
      const run = await runProgram(config);
      assert.ifError(run.error);
      const [configMap] = namespaceConfigMaps(run);
      const nsConfig = parse(configMap.inputs.data["ns-config"]);
      assert.deepEqual(nsConfig, {
        successfulHistoryLimit: 3,
        failedHistoryLimit: 0,
        ttlSecondsAfterFinished: 86400,
      });
      for (const key of Object.keys(nsConfig)) assert.ok(PRUNER_CONFIG_KEYS.includes(key), key);
    });

    it("keeps one key's default when an app sets the other", () => {
      const [app] = parseStackConfig(
        withApp(exampleConfig(), (a) => (a.retention = { failedHistoryLimit: 50 })),
      ).apps;
      assert.deepEqual(app.retention, { successfulHistoryLimit: 10, failedHistoryLimit: 50 });
      assert.equal(
        namespaceConfigText(app.retention!),
        "successfulHistoryLimit: 10\nfailedHistoryLimit: 50\n",
      );
    });

    it("keeps the pruner's part-of label over the app's", () => {
      const manifest = namespacePrunerConfigMap(
        "ns",
        { successfulHistoryLimit: 1, failedHistoryLimit: 1 },
        { "app.kubernetes.io/part-of": "hello-python" },
      );
      assert.equal(manifest.metadata.labels["app.kubernetes.io/part-of"], "tekton-pruner");
    });
  });

  describe("pruner off", () => {
    it("installs no pruner and no namespace config with pruner.install: false", async () => {
      const config = withTekton(exampleConfig(), (t) => ({ ...t, pruner: { install: false } }));
      const run = await runProgram(config);
      assert.ifError(run.error);
      assert.equal(
        resourcesOfType(run, CONFIG_FILE).filter((r) => r.name === "tekton-pruner").length,
        0,
      );
      assert.deepEqual(namespaceConfigMaps(run), []);
      assert.equal(run.values?.tekton.pruner, null);
      assert.equal(parseStackConfig(config).apps[0].retention, undefined);
    });

    it("still writes an explicit retention for a pruner installed otherwise, after the namespace only", async () => {
      const config = withApp(
        withTekton(exampleConfig(), (t) => ({ ...t, pruner: { install: false } })),
        (a) => (a.retention = { successfulHistoryLimit: 5 }),
      );
      const run = await runProgram(config);
      assert.ifError(run.error);
      const [configMap] = namespaceConfigMaps(run);
      assert.ok(configMap);
      const namespace = findResource(run, "kubernetes:core/v1:Namespace", "hello-python-namespace");
      assert.deepEqual(configMap.dependencies, [namespace.urn]);
    });

    it("follows tekton.install: false (a Tekton installed otherwise brings its own pruner)", async () => {
      const config = withTekton(exampleConfig(), (t) => ({ ...t, install: false }));
      assert.equal(parseStackConfig(config).tekton.pruner.install, false);
      const run = await runProgram(config);
      assert.ifError(run.error);
      assert.deepEqual(resourcesOfType(run, CONFIG_FILE), []);
      assert.deepEqual(namespaceConfigMaps(run), []);
    });
  });
});
