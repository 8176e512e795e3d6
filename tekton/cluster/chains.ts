// Tekton Chains, as this stack installs and configures it: where its release lives and what
// its `chains-config` says. Pure values; components/cluster/chainsInstall.ts registers them.

/** Namespace, ConfigMap and Secret of the Chains release (tektoncd/chains config/100-deployment.yaml). */
export const CHAINS_NAMESPACE = "tekton-chains";
export const CHAINS_CONFIG_MAP = "chains-config";
/**
 * The Secret the Chains controller mounts at /etc/signing-secrets (release.yaml declares it
 * empty, "populated at install time"). Its signer reads `x509.pem` first (tektoncd/chains
 * v0.29.2 pkg/chains/signing/x509/x509.go `NewSigner`; `cosign.key` needs a password).
 */
export const CHAINS_SIGNING_SECRET = "signing-secrets";
export const CHAINS_SIGNING_KEY = "x509.pem";

/** `<base>/chains/previous/<version>/release.yaml`, the layout of Tekton's other releases. */
export function chainsReleaseUrl(releaseBaseUrl: string, version: string): string {
  return `${releaseBaseUrl}/chains/previous/${version}/release.yaml`;
}

/**
 * `chains-config`. Every key and value is one tektoncd/chains v0.29.2 pkg/config/config.go
 * `NewConfigFromMap` accepts (it rejects a value outside the listed ones):
 * - TaskRuns: SLSA v0.2 provenance (`slsa/v1`; `in-toto` is its older name), signed with the
 *   x509 key, stored in the registry beside the image (`oci`): `cosign verify-attestation`
 *   finds it there. Chains pushes it with the TaskRun's ServiceAccount (the build task's own
 *   `tekton-build-push`, which lists the registry Secret as imagePullSecrets).
 * - PipelineRuns: the same format, stored on the PipelineRun itself (`tekton`, annotations):
 *   the PipelineRun's ServiceAccount is the run-wide `tekton-build`, which holds no registry
 *   credential by design (README, "Security"), so it could not push.
 * - OCI (the image signature, `simplesigning`, the only format): x509, pushed to the registry.
 * - `transparency.enabled: false` (also the default): no upload of every build's provenance to
 *   the public Rekor log; a private builder's image names would be public there.
 */
export const CHAINS_CONFIG: Record<string, string> = {
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
};
