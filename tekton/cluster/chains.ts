// Tekton Chains, as this stack installs and configures it: where its release lives, what its
// `chains-config` says and how its controller reaches the registry. Pure values;
// components/cluster/chainsInstall.ts registers them.
import * as crypto from "node:crypto";
import { RegistryConfig } from "../../config/schema";
import { REGISTRY_CA_KEY } from "../core/names";

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

/**
 * Chains' OCI storage reaches the registry with Go's default TLS (system roots) unless this key
 * is "true" (tektoncd/chains v0.29.2 pkg/config/config.go `ociRepositoryInsecureKey`). Then
 * pkg/chains/storage/oci/legacy.go does two things: `nameOpts` parses every image and storage
 * repository with go-containerregistry's `name.Insecure`, whose `Registry.Scheme()` is "http", so
 * the transport's ping tries https and falls back to plain http; and `buildRemoteOptions` swaps
 * in an `http.Transport` with `InsecureSkipVerify: true`, so https is accepted with any
 * certificate. There is no narrower switch: set only when the config already chose one of the
 * two (registry.plainHttp, registry.insecure), never for registry.caCert.
 */
export const CHAINS_OCI_INSECURE_KEY = "storage.oci.repository.insecure";

/** `chains-config` for this registry: CHAINS_CONFIG, plus the insecure key when chosen. */
export function chainsConfig(
  registry: Pick<RegistryConfig, "insecure" | "plainHttp">,
): Record<string, string> {
  return registry.plainHttp || registry.insecure
    ? { ...CHAINS_CONFIG, [CHAINS_OCI_INSECURE_KEY]: "true" }
    : CHAINS_CONFIG;
}

/**
 * The release's controller Deployment and its one container, both `tekton-chains-controller`
 * (config/100-deployment.yaml). It mounts signing-secrets, oidc-info and sigstore-cache only: no
 * CA bundle of ours.
 */
export const CHAINS_CONTROLLER = "tekton-chains-controller";
/** ConfigMap (in CHAINS_NAMESPACE) with registry.caCert under REGISTRY_CA_KEY, and its volume. */
export const CHAINS_REGISTRY_CA_CONFIG_MAP = "tekton-gitlab-registry-ca";
export const CHAINS_REGISTRY_CA_DIR = "/etc/tekton-gitlab/registry-ca";
/**
 * The first of Go's default `certDirectories` on Linux (crypto/x509 root_linux.go), which
 * SSL_CERT_DIR replaces: listed again so that an image keeping its roots as a directory of
 * certificates keeps them. The controller is ko-built on ghcr.io/tektoncd/plumbing/static-base
 * (v0.29.2 .ko.yaml `defaultBaseImage`, pinned by digest); a directory it lacks is skipped.
 */
export const SYSTEM_CERT_DIR = "/etc/ssl/certs";
/** Pod-template annotation with the CA's SHA-256: a new CA rolls the controller. */
export const REGISTRY_CA_HASH_ANNOTATION = "tekton-gitlab.io/registry-ca-sha256";

/** The CA ConfigMap the controller mounts. */
export function chainsRegistryCaConfigMap(caCert: string) {
  return {
    metadata: {
      name: CHAINS_REGISTRY_CA_CONFIG_MAP,
      namespace: CHAINS_NAMESPACE,
      labels: { "app.kubernetes.io/managed-by": "tekton-gitlab" },
    },
    data: { [REGISTRY_CA_KEY]: caCert },
  };
}

/**
 * What the stack adds to the release's controller Deployment (a server-side apply patch) so that
 * Chains trusts registry.caCert:
 * - `SSL_CERT_DIR`: Go's crypto/x509 (root_unix.go `loadSystemRoots`) reads the first bundle
 *   file it finds (SSL_CERT_FILE, when set, instead of its list) and then every file of every
 *   directory in SSL_CERT_DIR, a colon-separated list that replaces its default directories.
 *   The bundle file is read whatever SSL_CERT_DIR says, so the image's roots (Rekor or Fulcio, a
 *   public registry) stay, and the CA is added; the system directory is listed too for an image
 *   whose roots are a directory. SSL_CERT_FILE would replace the system bundle and is left as
 *   the image sets it. The ConfigMap volume's `ca.crt` is a symlink into `..data/`: a target with a
 *   slash, which `readUniqueDirectoryEntries` keeps (it drops only same-directory symlinks).
 * - The annotation: Go loads the system roots once per process, so a new CA must restart the
 *   controller; a pod-template change makes the Deployment roll.
 * Server-side apply merges `containers` and `volumes` by name, `env` by name and `volumeMounts`
 * by mountPath (k8s.io/api core/v1 types.go `+listType=map`): the release's entries stay.
 */
export function chainsRegistryCaPatch(caCert: string) {
  const volume = CHAINS_REGISTRY_CA_CONFIG_MAP;
  return {
    metadata: { name: CHAINS_CONTROLLER, namespace: CHAINS_NAMESPACE },
    spec: {
      template: {
        metadata: {
          annotations: {
            [REGISTRY_CA_HASH_ANNOTATION]: crypto.createHash("sha256").update(caCert).digest("hex"),
          },
        },
        spec: {
          containers: [
            {
              name: CHAINS_CONTROLLER,
              env: [
                { name: "SSL_CERT_DIR", value: `${SYSTEM_CERT_DIR}:${CHAINS_REGISTRY_CA_DIR}` },
              ],
              volumeMounts: [{ name: volume, mountPath: CHAINS_REGISTRY_CA_DIR, readOnly: true }],
            },
          ],
          volumes: [{ name: volume, configMap: { name: CHAINS_REGISTRY_CA_CONFIG_MAP } }],
        },
      },
    },
  };
}
