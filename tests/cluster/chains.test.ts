import "../harness/mocks";
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { isSecretAt } from "../harness/mocks";
import {
  CHAINS_CONFIG,
  chainsRegistryCaPatch,
  chainsReleaseUrl,
} from "../../tekton/cluster/chains";
import { ProgramRun, exampleConfig, runProgram, withStructured } from "../harness/program";
import {
  CONFIG_FILE,
  CONFIG_MAP,
  CONFIG_MAP_PATCH,
  PRIVATE_KEY,
  SECRET_PATCH,
  TEKTON_RELEASES,
  findResource,
  resourcesOfType,
} from "../harness/registered";

const DEPLOYMENT_PATCH = "kubernetes:apps/v1:DeploymentPatch";

function withChains(chains: Record<string, unknown>) {
  return withStructured(exampleConfig(), "tekton", (t) => ({ ...t, chains }));
}

async function chainsRun(chains: Record<string, unknown> = { install: true }): Promise<ProgramRun> {
  const run = await runProgram(withChains(chains));
  assert.ifError(run.error);
  return run;
}

/** Chains on, with the dev registry changed by `edit` (the dev registry has a caCert). */
async function chainsWithRegistry(edit: (registry: any) => any): Promise<ProgramRun> {
  const run = await runProgram(withStructured(withChains({ install: true }), "registry", edit));
  assert.ifError(run.error);
  return run;
}

const withoutCa = ({ caCert: _ca, ...registry }: Record<string, unknown>) => registry;

describe("Tekton Chains (tekton.chains)", function () {
  it("installs nothing of Chains by default and exports chains: null", async () => {
    const run = await runProgram(exampleConfig());
    assert.ifError(run.error);
    assert.ok(!resourcesOfType(run, CONFIG_FILE).some((r) => /chains/.test(r.inputs.file)));
    assert.deepEqual(resourcesOfType(run, CONFIG_MAP_PATCH), []);
    assert.deepEqual(resourcesOfType(run, SECRET_PATCH), []);
    assert.deepEqual(resourcesOfType(run, DEPLOYMENT_PATCH), []);
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
    const install = findResource(run, "tekton-gitlab:cluster:TektonInstall", "tekton");
    const component = findResource(run, "tekton-gitlab:cluster:ChainsInstall", "tekton-chains");
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

  describe("the registry Chains pushes to (registry.caCert, plainHttp, insecure)", () => {
    it("trusts registry.caCert in the controller, beside the system roots, by a patch of its Deployment", async () => {
      const run = await chainsRun();
      const caCert = JSON.parse(exampleConfig()["tekton-gitlab:registry"]).caCert;
      assert.match(caCert, /BEGIN CERTIFICATE/);
      const release = findResource(run, CONFIG_FILE, "tekton-chains");

      const configMap = findResource(run, CONFIG_MAP, "tekton-chains-registry-ca");
      assert.deepEqual(configMap.inputs.metadata, {
        name: "tekton-gitlab-registry-ca",
        namespace: "tekton-chains",
        labels: { "app.kubernetes.io/managed-by": "tekton-gitlab" },
      });
      assert.deepEqual(configMap.inputs.data, { "ca.crt": caCert });
      assert.ok(configMap.dependencies.includes(release.urn), "the release makes the namespace");

      // tektoncd/chains v0.29.2 config/100-deployment.yaml: Deployment and container are both
      // `tekton-chains-controller`. Server-side apply merges containers and volumes by name and
      // volumeMounts by mountPath (k8s.io/api core/v1 types.go +listMapKey), so the release's
      // own mounts and env stay.
      const patch = findResource(run, DEPLOYMENT_PATCH, "tekton-chains-controller-registry-ca");
      assert.deepEqual(patch.inputs.metadata, {
        name: "tekton-chains-controller",
        namespace: "tekton-chains",
      });
      const template = patch.inputs.spec.template;
      assert.deepEqual(template.spec.containers, [
        {
          name: "tekton-chains-controller",
          // Go's crypto/x509 (root_unix.go loadSystemRoots) reads SSL_CERT_DIR as a colon list of
          // directories, in addition to the first bundle file it finds: the image's system
          // bundle stays trusted. SSL_CERT_FILE would replace that bundle: not set.
          env: [{ name: "SSL_CERT_DIR", value: "/etc/ssl/certs:/etc/tekton-gitlab/registry-ca" }],
          volumeMounts: [
            {
              name: "tekton-gitlab-registry-ca",
              mountPath: "/etc/tekton-gitlab/registry-ca",
              readOnly: true,
            },
          ],
        },
      ]);
      assert.deepEqual(template.spec.volumes, [
        { name: "tekton-gitlab-registry-ca", configMap: { name: "tekton-gitlab-registry-ca" } },
      ]);
      // Go loads the system roots once per process: a changed CA must restart the controller.
      const digest = crypto.createHash("sha256").update(caCert).digest("hex");
      assert.deepEqual(template.metadata, {
        annotations: { "tekton-gitlab.io/registry-ca-sha256": digest },
      });
      assert.ok(patch.dependencies.includes(release.urn));
      assert.ok(patch.dependencies.includes(configMap.urn));
      // A CA is no reason to skip TLS verification.
      const config = findResource(run, CONFIG_MAP_PATCH, "tekton-chains-config");
      assert.deepEqual(config.inputs.data, CHAINS_CONFIG);
      // The first build after `pulumi up` is signed by a controller that trusts the CA.
      const task = resourcesOfType(run, "kubernetes:tekton.dev/v1:Task")[0];
      assert.ok(task.dependencies.includes(patch.urn));
    });

    it("restarts the controller when the CA changes: the annotation follows the CA", () => {
      const sha256 = (text: string) => crypto.createHash("sha256").update(text).digest("hex");
      const [one, two] = ["one", "two"].map(
        (cn) => `-----BEGIN CERTIFICATE-----\n${cn}\n-----END CERTIFICATE-----\n`,
      );
      const annotation = (caCert: string) =>
        chainsRegistryCaPatch(caCert).spec.template.metadata.annotations[
          "tekton-gitlab.io/registry-ca-sha256"
        ];
      assert.equal(annotation(one), sha256(one));
      assert.notEqual(annotation(one), annotation(two));
    });

    it("sets storage.oci.repository.insecure with registry.plainHttp, and mounts no CA", async () => {
      const run = await chainsWithRegistry((r) => ({ ...withoutCa(r), plainHttp: true }));
      const config = findResource(run, CONFIG_MAP_PATCH, "tekton-chains-config");
      // tektoncd/chains v0.29.2 pkg/config/config.go `ociRepositoryInsecureKey`; legacy.go
      // `nameOpts` (name.Insecure: http allowed) and `buildRemoteOptions` (no TLS verification).
      assert.deepEqual(config.inputs.data, {
        ...CHAINS_CONFIG,
        "storage.oci.repository.insecure": "true",
      });
      assert.deepEqual(resourcesOfType(run, DEPLOYMENT_PATCH), []);
      assert.ok(
        !resourcesOfType(run, CONFIG_MAP).some(
          (c) => c.inputs.metadata.namespace === "tekton-chains",
        ),
      );
    });

    it("sets storage.oci.repository.insecure with registry.insecure (TLS, certificate unchecked)", async () => {
      const run = await chainsWithRegistry((r) => ({ ...withoutCa(r), insecure: true }));
      const config = findResource(run, CONFIG_MAP_PATCH, "tekton-chains-config");
      assert.equal(config.inputs.data["storage.oci.repository.insecure"], "true");
      assert.deepEqual(resourcesOfType(run, DEPLOYMENT_PATCH), []);
    });

    it("changes nothing of Chains' defaults for a publicly trusted registry", async () => {
      const run = await chainsWithRegistry(withoutCa);
      const config = findResource(run, CONFIG_MAP_PATCH, "tekton-chains-config");
      assert.deepEqual(config.inputs.data, CHAINS_CONFIG);
      assert.deepEqual(resourcesOfType(run, DEPLOYMENT_PATCH), []);
      assert.ok(
        !resourcesOfType(run, CONFIG_MAP).some(
          (c) => c.inputs.metadata.namespace === "tekton-chains",
        ),
      );
    });

    it("patches nothing without Chains, whatever the registry", async () => {
      for (const edit of [(r: any) => r, (r: any) => ({ ...withoutCa(r), plainHttp: true })]) {
        const run = await runProgram(withStructured(exampleConfig(), "registry", edit));
        assert.ifError(run.error);
        assert.deepEqual(resourcesOfType(run, DEPLOYMENT_PATCH), []);
        assert.deepEqual(resourcesOfType(run, CONFIG_MAP_PATCH), []);
      }
    });
  });
});
