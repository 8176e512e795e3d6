import "../harness/mocks";
import * as assert from "node:assert/strict";
import { parseStackConfig } from "../../config/load";
import { dashboardBaseUrl, pipelineRunUrl } from "../../tekton/cluster/dashboard";
import { buildContext } from "../../tekton/build/context";
import { exampleConfig, runProgram, withStructured } from "../harness/program";
import {
  CONFIG_FILE,
  INGRESS,
  TEKTON_RELEASES,
  findResource,
  resourcesOfType,
} from "../harness/registered";

const withDashboard = (dashboard: unknown) =>
  withStructured(exampleConfig(), "tekton", (t) => ({ ...t, dashboard }));
const INGRESS_CONFIG = {
  host: "tekton.example.com",
  className: "nginx",
  tlsSecretName: "tekton-dashboard-tls",
  annotations: {
    "nginx.ingress.kubernetes.io/auth-url":
      "http://oauth2-proxy.auth.svc.cluster.local/oauth2/auth",
    "nginx.ingress.kubernetes.io/auth-signin":
      "https://auth.example.com/oauth2/start?rd=$scheme://$host$request_uri",
  },
};

describe("Tekton Dashboard", function () {
  it("is off by default: no release, no Ingress, no status link base", async () => {
    const run = await runProgram(exampleConfig());
    assert.ifError(run.error);
    assert.equal(
      resourcesOfType(run, CONFIG_FILE).filter((r) => r.name === "tekton-dashboard").length,
      0,
    );
    assert.equal(
      resourcesOfType(run, INGRESS).filter(
        (r) => r.inputs.metadata.namespace === "tekton-pipelines",
      ).length,
      0,
    );
    assert.equal(run.values?.tekton.dashboard, null);
    assert.equal(buildContext(parseStackConfig(exampleConfig())).dashboardUrl, undefined);
  });

  it("installs the pinned read-only release after Pipelines", async () => {
    const run = await runProgram(withDashboard({ install: true }));
    assert.ifError(run.error);
    const release = findResource(run, CONFIG_FILE, "tekton-dashboard");
    // release.yaml is the read-only build (release-full.yaml is read/write): tekton/cluster/dashboard.ts.
    assert.equal(release.inputs.file, `${TEKTON_RELEASES}/dashboard/previous/v0.71.0/release.yaml`);
    const pipelines = findResource(run, CONFIG_FILE, "tekton-pipelines");
    assert.deepEqual(release.dependencies, [pipelines.urn]);
    assert.equal(release.transforms, 1);
    const install = findResource(run, "tekton-gitlab:cluster:TektonInstall", "tekton");
    assert.equal(release.parent, install.urn);
    assert.deepEqual(run.values?.tekton.dashboard, { version: "v0.71.0", url: null });
  });

  it("exposes it only through an Ingress with TLS and the given annotations", async () => {
    const run = await runProgram(withDashboard({ install: true, ingress: INGRESS_CONFIG }));
    assert.ifError(run.error);
    const ingress = findResource(run, INGRESS, "tekton-dashboard-ingress");
    assert.equal(ingress.inputs.metadata.name, "tekton-dashboard");
    assert.equal(ingress.inputs.metadata.namespace, "tekton-pipelines");
    assert.deepEqual(ingress.inputs.metadata.annotations, INGRESS_CONFIG.annotations);
    assert.equal(ingress.inputs.spec.ingressClassName, "nginx");
    assert.deepEqual(ingress.inputs.spec.tls, [
      { hosts: ["tekton.example.com"], secretName: "tekton-dashboard-tls" },
    ]);
    const [rule] = ingress.inputs.spec.rules;
    assert.equal(rule.host, "tekton.example.com");
    // The release's Service (config/300-service.yaml): tekton-dashboard, port 9097.
    assert.deepEqual(rule.http.paths[0].backend, {
      service: { name: "tekton-dashboard", port: { number: 9097 } },
    });
    const release = findResource(run, CONFIG_FILE, "tekton-dashboard");
    assert.ok(ingress.dependencies.includes(release.urn));
    assert.deepEqual(run.values?.tekton.dashboard, {
      version: "v0.71.0",
      url: "https://tekton.example.com",
    });
  });

  it("gives the build context the dashboard's base URL, without a trailing slash", () => {
    const fromHost = parseStackConfig(withDashboard({ install: true, ingress: INGRESS_CONFIG }));
    assert.equal(buildContext(fromHost).dashboardUrl, "https://tekton.example.com");
    // An explicit url wins (e.g. a path behind a proxy), also for a dashboard installed otherwise.
    const explicit = parseStackConfig(withDashboard({ url: "https://ci.example.com/tekton/" }));
    assert.equal(explicit.tekton.dashboard.install, false);
    assert.equal(buildContext(explicit).dashboardUrl, "https://ci.example.com/tekton");
    assert.equal(dashboardBaseUrl(explicit.tekton), "https://ci.example.com/tekton");
  });

  it("links a PipelineRun by the dashboard's hash route", () => {
    assert.equal(
      pipelineRunUrl(
        "https://tekton.example.com",
        "python-hello-build",
        "build-hello-python-x7k2p",
      ),
      "https://tekton.example.com/#/namespaces/python-hello-build/pipelineruns/build-hello-python-x7k2p",
    );
  });
});
