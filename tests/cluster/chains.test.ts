import "../harness/mocks";
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { isSecretAt } from "../harness/mocks";
import { CHAINS_CONFIG, chainsReleaseUrl } from "../../tekton/cluster/chains";
import { ProgramRun, exampleConfig, runProgram, withStructured } from "../harness/program";
import {
  CONFIG_FILE,
  CONFIG_MAP_PATCH,
  PRIVATE_KEY,
  SECRET_PATCH,
  TEKTON_RELEASES,
  findResource,
  resourcesOfType,
} from "../harness/registered";

function withChains(chains: Record<string, unknown>) {
  return withStructured(exampleConfig(), "tekton", (t) => ({ ...t, chains }));
}

async function chainsRun(chains: Record<string, unknown> = { install: true }): Promise<ProgramRun> {
  const run = await runProgram(withChains(chains));
  assert.ifError(run.error);
  return run;
}

describe("Tekton Chains (tekton.chains)", function () {
  it("installs nothing of Chains by default and exports chains: null", async () => {
    const run = await runProgram(exampleConfig());
    assert.ifError(run.error);
    assert.ok(!resourcesOfType(run, CONFIG_FILE).some((r) => /chains/.test(r.inputs.file)));
    assert.deepEqual(resourcesOfType(run, CONFIG_MAP_PATCH), []);
    assert.deepEqual(resourcesOfType(run, SECRET_PATCH), []);
    assert.equal(
      resourcesOfType(run, PRIVATE_KEY).filter((k) => k.inputs.algorithm === "ECDSA").length,
      0,
    );
    assert.equal(run.values?.tekton.chains, null);
  });

  it("applies the pinned Chains release after Pipelines, retaining its CRDs", async () => {
    const run = await chainsRun();
    const release = findResource(run, CONFIG_FILE, "tekton-chains");
    assert.equal(release.inputs.file, `${TEKTON_RELEASES}/chains/previous/v0.29.2/release.yaml`);
    assert.equal(
      chainsReleaseUrl(TEKTON_RELEASES, "v0.29.1"),
      `${TEKTON_RELEASES}/chains/previous/v0.29.1/release.yaml`,
    );
    const pipelines = findResource(run, CONFIG_FILE, "tekton-pipelines");
    assert.ok(release.dependencies.includes(pipelines.urn));
    assert.equal(release.transforms, 1, "the CRD-retaining transform");
    // A child of TektonInstall: the policy pack treats it as a pinned upstream release.
    const install = findResource(run, "tekton-gitlab:tekton:TektonInstall", "tekton");
    const component = findResource(run, "tekton-gitlab:tekton:ChainsInstall", "tekton-chains");
    assert.equal(component.parent, install.urn);
    assert.equal(release.parent, component.urn);
  });

  it("uses the configured version and the release mirror", async () => {
    const config = withStructured(exampleConfig(), "tekton", (t) => ({
      ...t,
      releaseBaseUrl: "./manifests",
      chains: { install: true, version: "v0.28.2" },
    }));
    const run = await runProgram(config);
    assert.ifError(run.error);
    assert.equal(
      findResource(run, CONFIG_FILE, "tekton-chains").inputs.file,
      "./manifests/chains/previous/v0.28.2/release.yaml",
    );
    assert.equal(run.values?.tekton.chains.version, "v0.28.2");
  });

  it("configures chains-config by a patch of the release's ConfigMap, after the release", async () => {
    const run = await chainsRun();
    const patch = findResource(run, CONFIG_MAP_PATCH, "tekton-chains-config");
    assert.deepEqual(patch.inputs.metadata, { name: "chains-config", namespace: "tekton-chains" });
    assert.deepEqual(patch.inputs.data, CHAINS_CONFIG);
    // Every key confirmed in tektoncd/chains v0.29.2 pkg/config/config.go NewConfigFromMap.
    assert.deepEqual(CHAINS_CONFIG, {
      "artifacts.taskrun.format": "slsa/v1",
      "artifacts.taskrun.storage": "oci",
      "artifacts.taskrun.signer": "x509",
      "artifacts.pipelinerun.format": "slsa/v1",
      "artifacts.pipelinerun.storage": "tekton",
      "artifacts.pipelinerun.signer": "x509",
      "artifacts.oci.format": "simplesigning",
      "artifacts.oci.storage": "oci",
      "artifacts.oci.signer": "x509",
      "transparency.enabled": "false",
    });
    const release = findResource(run, CONFIG_FILE, "tekton-chains");
    assert.ok(patch.dependencies.includes(release.urn));
  });

  it("makes an ECDSA P-256 signing key and writes it to signing-secrets as x509.pem, secret", async () => {
    const run = await chainsRun();
    const key = findResource(run, PRIVATE_KEY, "tekton-chains-signing-key");
    assert.equal(key.inputs.algorithm, "ECDSA");
    assert.equal(key.inputs.ecdsaCurve, "P256");
    const secret = findResource(run, SECRET_PATCH, "tekton-chains-signing-secrets");
    assert.deepEqual(secret.inputs.metadata, {
      name: "signing-secrets",
      namespace: "tekton-chains",
    });
    assert.deepEqual(Object.keys(secret.inputs.stringData), ["x509.pem"]);
    assert.ok(isSecretAt(secret, "stringData.x509.pem"));
    assert.ok(secret.dependencies.includes(findResource(run, CONFIG_FILE, "tekton-chains").urn));
    // The apps' Tekton objects wait for Chains: the first build after `pulumi up` is signed.
    const task = resourcesOfType(run, "kubernetes:tekton.dev/v1:Task")[0];
    assert.ok(task.dependencies.includes(secret.urn));
  });

  it("writes a PEM that Chains' x509 loader accepts: unencrypted PKCS#8, ECDSA", async () => {
    // tektoncd/chains v0.29.2 pkg/chains/signing/x509/x509.go x509Signer: pem.Decode, block
    // type "PRIVATE KEY", x509.ParsePKCS8PrivateKey, then only *ecdsa.PrivateKey is accepted.
    const run = await chainsRun();
    const pem: string = findResource(run, SECRET_PATCH, "tekton-chains-signing-secrets").inputs
      .stringData["x509.pem"];
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.doesNotMatch(pem, /ENCRYPTED|EC PRIVATE KEY/);
    const key = crypto.createPrivateKey({ key: pem, format: "pem" });
    assert.equal(key.asymmetricKeyType, "ec");
    assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1");
    // PKCS#8 round trip: the same DER a Go x509.ParsePKCS8PrivateKey reads.
    const der = key.export({ type: "pkcs8", format: "der" });
    const body = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
    assert.equal(Buffer.from(body, "base64").toString("hex"), der.toString("hex"));
  });

  it("exports the public key under tekton.chains, plain, matching the private key", async () => {
    const run = await chainsRun();
    const chains = run.values?.tekton.chains;
    assert.equal(chains.version, "v0.29.2");
    assert.match(chains.signingPublicKey, /^-----BEGIN PUBLIC KEY-----\n/);
    const pem: string = findResource(run, SECRET_PATCH, "tekton-chains-signing-secrets").inputs
      .stringData["x509.pem"];
    const derived = crypto
      .createPublicKey(crypto.createPrivateKey(pem))
      .export({ type: "spki", format: "pem" });
    assert.equal(chains.signingPublicKey, derived);
    assert.ok(!JSON.stringify(run.values?.tekton).includes("PRIVATE KEY"));
  });

  it("rotates the signing key with tekton.chains.keyRotation", async () => {
    const plain = await chainsRun();
    assert.equal(
      findResource(plain, PRIVATE_KEY, "tekton-chains-signing-key").replacementTrigger,
      "",
    );
    const rotated = await chainsRun({ install: true, keyRotation: "2026-11" });
    assert.equal(
      findResource(rotated, PRIVATE_KEY, "tekton-chains-signing-key").replacementTrigger,
      "2026-11",
    );
  });
});
