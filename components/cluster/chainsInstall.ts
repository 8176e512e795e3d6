import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { RegistryConfig, TektonConfig } from "../../config/schema";
import {
  CHAINS_CONFIG_MAP,
  CHAINS_NAMESPACE,
  CHAINS_SIGNING_KEY,
  CHAINS_SIGNING_SECRET,
  chainsConfig,
  chainsRegistryCaConfigMap,
  chainsRegistryCaPatch,
  chainsReleaseUrl,
} from "../../tekton/cluster/chains";
import { retainCustomResourceDefinitions } from "./retainCrds";
import { withPreviousType } from "../core/typeAliases";

export interface ChainsInstallArgs {
  tekton: TektonConfig;
  /** The Tekton Pipelines release: Chains' controller watches its TaskRuns and PipelineRuns. */
  pipelines: pulumi.Resource;
  /** The registry Chains pushes signatures and attestations to: its CA or plain HTTP. */
  registry: RegistryConfig;
}

/** Type token: `tekton-gitlab:<feature folder>:<Class>` (components/core/typeAliases.ts). */
const TYPE = "tekton-gitlab:cluster:ChainsInstall";

/**
 * Installs pinned Tekton Chains, configures it to sign every build with an x509 key the stack
 * makes, and exposes the public half. A child of TektonInstall.
 */
export class ChainsInstall extends pulumi.ComponentResource {
  public readonly version: string;
  /** PEM "PUBLIC KEY" (PKIX) of the signing key: what `cosign verify --key` takes. */
  public readonly signingPublicKey: pulumi.Output<string>;
  /** What must exist before the first build, so that it is signed. */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: ChainsInstallArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TYPE, name, {}, withPreviousType("tekton-gitlab:tekton:ChainsInstall", opts));
    const chains = args.tekton.chains;
    this.version = chains.version;

    const release = new k8s.yaml.v2.ConfigFile(
      name,
      { file: chainsReleaseUrl(args.tekton.releaseBaseUrl, chains.version) },
      // Its CRDs are kept on delete like Tekton's (components/cluster/tektonInstall.ts).
      { parent: this, dependsOn: [args.pipelines], transforms: [retainCustomResourceDefinitions] },
    );

    // The release itself carries `chains-config` and `signing-secrets`, both empty. Patches
    // (server-side apply with their own field manager, pulumi-kubernetes *Patch resources) own
    // only the keys set here: re-applying the release (an upgrade) leaves them alone, and the
    // objects keep one owner each. Replacing them from the ConfigFile by a transform would put
    // the private key into the ConfigFile's inputs, and a second full Secret would fight the
    // release's over the same object.
    const afterRelease = { parent: this, dependsOn: [release] };
    const config = new k8s.core.v1.ConfigMapPatch(
      `${name}-config`,
      {
        metadata: { name: CHAINS_CONFIG_MAP, namespace: CHAINS_NAMESPACE },
        data: chainsConfig(args.registry),
      },
      afterRelease,
    );

    // ECDSA P-256: Chains' x509 signer accepts ECDSA keys only (tektoncd/chains v0.29.2
    // pkg/chains/signing/x509/x509.go `x509Signer`: "only ECDSA keys are supported"; ED25519 is
    // refused), and @pulumi/tls defaults to P224, which sigstore does not sign with.
    // `keyRotation` replaces it, as apps[].keyRotation does the SSH keys.
    const key = new tls.PrivateKey(
      `${name}-signing-key`,
      { algorithm: "ECDSA", ecdsaCurve: "P256" },
      { parent: this, replacementTrigger: chains.keyRotation ?? "" },
    );
    // x509Signer: pem.Decode, block type "PRIVATE KEY", x509.ParsePKCS8PrivateKey, unencrypted:
    // `privateKeyPemPkcs8` is exactly that block (@pulumi/tls PrivateKey outputs).
    const secret = new k8s.core.v1.SecretPatch(
      `${name}-signing-secrets`,
      {
        metadata: { name: CHAINS_SIGNING_SECRET, namespace: CHAINS_NAMESPACE },
        stringData: { [CHAINS_SIGNING_KEY]: pulumi.secret(key.privateKeyPemPkcs8) },
      },
      afterRelease,
    );

    this.signingPublicKey = key.publicKeyPem;
    this.ready = [release, config, secret];

    // Chains pushes to the registry itself, from its controller, which trusts the image's system
    // roots only: without this a private-CA registry refuses every push and images stay
    // unsigned. A patch like the two above, so the release's Deployment keeps one owner per
    // field and an upgrade of the release leaves the additions alone (tekton/cluster/chains.ts
    // chainsRegistryCaPatch). In `ready`: a DeploymentPatch waits for the rollout, so the first
    // build is signed by a controller that trusts the CA.
    const caCert = args.registry.caCert;
    if (caCert !== undefined) {
      const caConfigMap = new k8s.core.v1.ConfigMap(
        `${name}-registry-ca`,
        chainsRegistryCaConfigMap(caCert),
        afterRelease,
      );
      const controller = new k8s.apps.v1.DeploymentPatch(
        `${name}-controller-registry-ca`,
        chainsRegistryCaPatch(caCert),
        { parent: this, dependsOn: [release, caConfigMap] },
      );
      this.ready.push(caConfigMap, controller);
    }
    this.registerOutputs({ version: this.version, signingPublicKey: this.signingPublicKey });
  }
}
