import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import {
  AppConfig,
  GitSshConfig,
  RegistryConfig,
  STATUS_TOKEN_KEY,
  STATUS_TOKEN_SECRET,
} from "../../config/schema";
import { DeployKey, ProjectAccessToken } from "../gitlab";
import {
  BUILD_PUSH_SERVICE_ACCOUNT,
  BUILD_SERVICE_ACCOUNT,
  GIT_PULL_SECRET,
  GIT_WRITE_SECRET,
  REGISTRY_CA_CONFIGMAP,
  REGISTRY_CA_KEY,
  REGISTRY_SECRET,
  appLabels,
  deployKeyResourceNames,
} from "../../tekton/core/names";

export interface AppCredentialsArgs {
  /** The app, validated, defaults resolved. */
  app: AppConfig;
  gitSsh: GitSshConfig;
  registry: RegistryConfig;
  /** `tekton-gitlab:registryPassword`, a secret; required when `registry.username` is set. */
  registryPassword?: pulumi.Output<string>;
}

/** One side of the app's Git access: the source it pulls or the operations repo it pushes. */
export interface GitKey {
  /** OpenSSH public key, one line, no trailing newline. */
  publicKey: pulumi.Output<string>;
  /** `SHA256:...`, as GitLab and `ssh-keygen -lf` show it. */
  fingerprintSha256: pulumi.Output<string>;
  /** GitLab's id of the deploy key; undefined when `manageDeployKeys: false`. */
  deployKeyId?: pulumi.Output<number>;
}

/**
 * Everything an app's build needs to reach Git and the registry: what the book does by hand
 * with ssh-keygen, GitLab's UI and pasted Secrets. The build namespace, two keypairs, their
 * deploy keys (read-only on the source, write on the operations repo), the Secrets and the
 * ServiceAccount the PipelineRun uses.
 */
export class AppCredentials extends pulumi.ComponentResource {
  public readonly namespace: k8s.core.v1.Namespace;
  public readonly namespaceName: string;
  public readonly serviceAccountName = BUILD_SERVICE_ACCOUNT;
  public readonly source: GitKey;
  public readonly operations: GitKey;
  /** The GitLab token the status tasks post with; undefined unless the stack manages it. */
  public readonly statusToken?: ProjectAccessToken;
  /** What Tekton objects in the namespace must wait for: the namespace, Secrets, ServiceAccount. */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: AppCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tekton-gitlab:app:AppCredentials", name, {}, opts);
    const { app, gitSsh, registry } = args;
    const labels = appLabels(app);
    const metadata = (objectName: string) => ({
      name: objectName,
      namespace: app.namespace,
      labels,
    });

    this.namespaceName = app.namespace;
    this.namespace = new k8s.core.v1.Namespace(
      `${app.name}-namespace`,
      {
        metadata: {
          name: app.namespace,
          labels: {
            ...labels,
            // Which stack (environment) owns it, for an admin looking at the cluster.
            "tekton-gitlab.io/stack": pulumi.getStack(),
            // Kaniko needs root to unpack image layers but nothing privileged: `baseline` allows
            // exactly that and rejects privileged pods in the build namespace.
            "pod-security.kubernetes.io/enforce": "baseline",
          },
        },
      },
      { parent: this },
    );
    const inNamespace: pulumi.CustomResourceOptions = { parent: this, dependsOn: [this.namespace] };

    // Changing `keyRotation` replaces both keys (and so their deploy keys); everything else
    // about them is fixed by config, so the same config always yields the same keys.
    const keyOptions: pulumi.CustomResourceOptions = {
      parent: this,
      replacementTrigger: app.keyRotation ?? "",
    };
    const keyArgs: tls.PrivateKeyArgs =
      app.keyAlgorithm === "RSA" ? { algorithm: "RSA", rsaBits: 4096 } : { algorithm: "ED25519" };
    const pullKey = new tls.PrivateKey(`${app.name}-source-key`, keyArgs, keyOptions);
    const pushKey = new tls.PrivateKey(`${app.name}-operations-key`, keyArgs, keyOptions);

    const deployKeyNames = deployKeyResourceNames(app);
    const title = (purpose: string) => `tekton-gitlab ${pulumi.getStack()}/${app.name}: ${purpose}`;
    const pullDeployKey = app.manageDeployKeys
      ? new DeployKey(
          deployKeyNames.source,
          {
            project: app.sourceProject,
            title: title("pull source (read-only)"),
            key: pullKey.publicKeyOpenssh,
            canPush: false,
          },
          { parent: this },
        )
      : undefined;
    const pushDeployKey = app.manageDeployKeys
      ? new DeployKey(
          deployKeyNames.operations,
          {
            project: app.operationsProject,
            title: title("push image updates (write)"),
            key: pushKey.publicKeyOpenssh,
            canPush: true,
          },
          { parent: this },
        )
      : undefined;

    // A Secret waits for its deploy key: on rotation GitLab knows the new key before the build
    // can use it, and the old deploy key is deleted only after the Secret holds the new one.
    const sshSecret = (
      resourceName: string,
      secretName: string,
      key: tls.PrivateKey,
      deployKey: DeployKey | undefined,
    ) =>
      new k8s.core.v1.Secret(
        resourceName,
        {
          // No tekton.dev/git-* annotation: the Secret reaches a task only as its workspace.
          metadata: metadata(secretName),
          type: "kubernetes.io/ssh-auth",
          stringData: {
            "ssh-privatekey": pulumi.secret(key.privateKeyOpenssh),
            known_hosts: gitSsh.knownHosts,
          },
        },
        { ...inNamespace, dependsOn: [this.namespace, ...(deployKey ? [deployKey] : [])] },
      );

    // Each key reaches one task as a workspace (tekton/listener/triggers.ts pipelineRunWorkspaces):
    // git-pull the tag task's clone, git-write the patch task's git steps.
    const gitPull = sshSecret(`${app.name}-git-pull`, GIT_PULL_SECRET, pullKey, pullDeployKey);
    const gitWrite = sshSecret(`${app.name}-git-write`, GIT_WRITE_SECRET, pushKey, pushDeployKey);

    const secrets: k8s.core.v1.Secret[] = [gitPull, gitWrite];
    if (registry.username !== undefined) {
      if (!args.registryPassword) {
        throw new Error(
          "tekton-gitlab:registryPassword: required when tekton-gitlab:registry.username is set",
        );
      }
      const username = registry.username;
      const dockerConfig = args.registryPassword.apply((password) =>
        JSON.stringify({
          auths: {
            [registry.host]: {
              username,
              password,
              auth: Buffer.from(`${username}:${password}`).toString("base64"),
            },
          },
        }),
      );
      secrets.push(
        new k8s.core.v1.Secret(
          `${app.name}-registry-credentials`,
          {
            metadata: metadata(REGISTRY_SECRET),
            type: "kubernetes.io/dockerconfigjson",
            stringData: { ".dockerconfigjson": pulumi.secret(dockerConfig) },
          },
          inNamespace,
        ),
      );
    }

    const ready: pulumi.Resource[] = [this.namespace, ...secrets];
    const status = app.statusReporting;
    if (status.enabled && status.managedToken !== undefined) {
      // The least that can post a commit status: POST /projects/:id/statuses/:sha needs
      // `create_commit_status` (lib/api/commit_statuses.rb `authorize! :create_commit_status`),
      // which project_policy.rb grants from the Developer role (`rule { can?(:developer_access)
      // }`), and a write API call needs the `api` scope (lib/api/api.rb: `read_api` only for GET
      // and HEAD). A Developer bot cannot push to protected branches nor change settings. GitLab
      // also needs the poster to be allowed to push or merge on the status's branch
      // (app/policies/ci/pipeline_policy.rb `protected_ref`), hence `tokenAccessLevel`.
      this.statusToken = new ProjectAccessToken(
        `${app.name}-status-token`,
        {
          project: app.sourceProject,
          name: `tekton-gitlab ${pulumi.getStack()}/${app.name}: build status`,
          scopes: ["api"],
          accessLevel: status.managedToken.accessLevel,
          rotationConfiguration: {
            expirationDays: status.managedToken.lifetimeDays,
            rotateBeforeDays: status.managedToken.rotateBeforeDays,
          },
        },
        { parent: this },
      );
      // Referenced by no ServiceAccount: only the status tasks mount it, as a workspace or a
      // volume, so no other step of the build can read the token.
      const statusSecret = new k8s.core.v1.Secret(
        `${app.name}-status-token-secret`,
        {
          metadata: metadata(STATUS_TOKEN_SECRET),
          type: "Opaque",
          stringData: { [STATUS_TOKEN_KEY]: pulumi.secret(this.statusToken.token) },
        },
        inNamespace,
      );
      ready.push(this.statusToken, statusSecret);
    }
    if (registry.caCert !== undefined) {
      ready.push(
        new k8s.core.v1.ConfigMap(
          `${app.name}-registry-ca`,
          {
            metadata: metadata(REGISTRY_CA_CONFIGMAP),
            data: { [REGISTRY_CA_KEY]: registry.caCert },
          },
          inNamespace,
        ),
      );
    }

    ready.push(
      new k8s.core.v1.ServiceAccount(
        `${app.name}-service-account`,
        {
          metadata: metadata(BUILD_SERVICE_ACCOUNT),
          // No `secrets`: every TaskRun of the PipelineRun runs as this account, and Tekton's
          // credential init (pipeline v1.15.0 pkg/pod/creds_init.go credsInit) mounts each
          // listed dockerconfigjson Secret, and each ssh-auth Secret annotated tekton.dev/git-*,
          // into every step of every task: the registry password into the git steps, a git key
          // into the Kaniko pod where the Dockerfile's RUN lines could read it. Each credential
          // is a workspace of the one task that needs it instead; the policy pack
          // (policy/credentials.ts no-run-wide-credentials) refuses a listed credential.
          // No step calls the Kubernetes API (Tekton's entrypoint and init containers do not
          // either), and the account has no RBAC: its token would only be one more secret a
          // Dockerfile RUN line in the Kaniko pod could read.
          automountServiceAccountToken: false,
        },
        inNamespace,
      ),
    );
    if (registry.username !== undefined) {
      ready.push(
        new k8s.core.v1.ServiceAccount(
          `${app.name}-push-service-account`,
          {
            metadata: metadata(BUILD_PUSH_SERVICE_ACCOUNT),
            // The build task's own account (tekton/build/buildTask.ts buildTaskRunSpecs). Listed as
            // imagePullSecrets, not secrets: credential init (pipeline v1.15.0
            // pkg/pod/creds_init.go credsInit) iterates `sa.Secrets` only, so no step gets the
            // registry password from here (Kaniko has it as its docker-config workspace); the
            // kubelet may use it to pull the step images, and Tekton Chains' keychain
            // (chains v0.29.2 pkg/chains/storage/oci/legacy.go, k8schain of the TaskRun's
            // ServiceAccount) to push signatures and attestations of the image.
            imagePullSecrets: [{ name: REGISTRY_SECRET }],
            automountServiceAccountToken: false,
          },
          inNamespace,
        ),
      );
    }
    this.ready = ready;

    const gitKey = (key: tls.PrivateKey, deployKey?: DeployKey): GitKey => ({
      publicKey: key.publicKeyOpenssh.apply((k) => k.trim()),
      fingerprintSha256: key.publicKeyFingerprintSha256,
      deployKeyId: deployKey?.deployKeyId,
    });
    this.source = gitKey(pullKey, pullDeployKey);
    this.operations = gitKey(pushKey, pushDeployKey);

    this.registerOutputs({
      namespace: this.namespaceName,
      serviceAccount: this.serviceAccountName,
      source: this.source,
      operations: this.operations,
    });
  }
}
