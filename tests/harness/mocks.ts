// The one place Pulumi mocks are set (setMocks called twice would overwrite the first). Every
// test file that needs Pulumi imports this module before anything that creates resources.
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "node:crypto";

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface RegisteredResource {
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  /** Inputs with secrets unwrapped to their plain values (see `secretPaths`). */
  inputs: Record<string, any>;
  /** Dotted paths of inputs that were registered as secrets, e.g. `stringData.token`. */
  secretPaths: string[];
  /** URN of the parent resource ("" for the stack root). */
  parent: string;
  /** URNs this resource explicitly or implicitly depends on. */
  dependencies: string[];
  deleteBeforeReplace: boolean;
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  /** How many `transforms` (ResourceTransform callbacks) the resource was registered with. */
  transforms: number;
  retainOnDelete: boolean;
  /** The `replacementTrigger` option's value, when set. */
  replacementTrigger?: unknown;
  /** The `aliases` option as the SDK sent it (alias specs: name, type, parent, ...). */
  aliases: unknown[];
}

/** True when the input at `path` was registered secret (itself or an enclosing object). */
export function isSecretAt(resource: RegisteredResource, path: string): boolean {
  return resource.secretPaths.some((p) => p === "" || p === path || path.startsWith(`${p}.`));
}

/** Every resource registered since the last `resetRegistrations()`, in registration order. */
export const registered: RegisteredResource[] = [];

export function resetRegistrations(): void {
  registered.length = 0;
}

/** What a `StackReference` to a given stack name reads, for tests of consumer stacks. */
export const stackReferences: Record<
  string,
  { outputs: Record<string, any>; secretOutputNames: string[] }
> = {};

/** The OpenSSH outputs of a mocked tls.PrivateKey: derived from its name, not key material. */
function sshMockOutputs(name: string): Record<string, string> {
  return {
    publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5-mock-${name}\n`,
    publicKeyFingerprintSha256: `SHA256:mock-${name}`,
    privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nmock-${name}\n-----END OPENSSH PRIVATE KEY-----\n`,
    privateKeyPem: `mock-pem-${name}`,
  };
}

/** @pulumi/tls's `ecdsaCurve` values, as node:crypto names the curves. */
const ECDSA_CURVES: Record<string, string> = {
  P224: "secp224r1",
  P256: "prime256v1",
  P384: "secp384r1",
  P521: "secp521r1",
};

/**
 * PEM outputs as the tls provider computes them for an ECDSA or ED25519 key, from a real key
 * generated here: what a test checks against Chains' x509 loader must be real PEM. The provider
 * (terraform-provider-tls `privateKeyPemPkcs8`) writes an unencrypted PKCS#8 "PRIVATE KEY" block
 * and a PKIX "PUBLIC KEY" block; node:crypto writes the same encodings.
 */
function realPemOutputs(inputs: Record<string, any>): Record<string, string> {
  const { privateKey, publicKey } =
    inputs.algorithm === "ED25519"
      ? crypto.generateKeyPairSync("ed25519")
      : crypto.generateKeyPairSync("ec", {
          namedCurve: ECDSA_CURVES[inputs.ecdsaCurve ?? "P224"],
        });
  return {
    privateKeyPemPkcs8: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) as string,
  };
}

/** Key material a `tls.PrivateKey` gets instead of the mock's (the rehearsal's real keys). */
export interface KeyMaterial {
  publicKeyOpenssh: string;
  publicKeyFingerprintSha256: string;
  privateKeyOpenssh: string;
}

let keyMaterial: ((name: string) => KeyMaterial) | undefined;

/**
 * Makes every `tls.PrivateKey` registered from now on get `make(name)` as its outputs instead of
 * the mock strings (undefined: back to the mock strings). For `npm run rehearse`, which needs
 * keys ssh accepts.
 */
export function useKeyMaterial(make: ((name: string) => KeyMaterial) | undefined): void {
  keyMaterial = make;
}

/**
 * Outputs a real provider would compute, so code that reads them sees values. Each is derived
 * from the resource name: deterministic, and obviously not real key material.
 */
function computedOutputs(
  type: string,
  name: string,
  inputs: Record<string, any>,
): Record<string, any> {
  switch (type) {
    case "tls:index/privateKey:PrivateKey": {
      const ssh = keyMaterial
        ? { ...keyMaterial(name), privateKeyPem: `not-rendered-${name}` }
        : sshMockOutputs(name);
      if (inputs.algorithm === "ECDSA" || inputs.algorithm === "ED25519") {
        return { ...ssh, ...realPemOutputs(inputs) };
      }
      return ssh;
    }
    case "pulumi:pulumi:StackReference": {
      const stack = stackReferences[inputs.name];
      if (!stack) throw new Error(`test set no outputs for StackReference ${inputs.name}`);
      return { ...stack };
    }
    case "random:index/randomPassword:RandomPassword":
      return { result: `mock-webhook-token-${name}` };
    default:
      if (type === "pulumi-nodejs:dynamic/gitlab:ProjectAccessToken") {
        // What GitLab's create answer gives; the provider marks it a secret output.
        // `expiresAt`: the provider computes it from rotationConfiguration (a date, GitLab's form).
        return {
          token: `mock-gitlab-token-${name}`,
          tokenId: 4444,
          active: true,
          expiresAt: "2027-11-29",
        };
      }
      if (type.startsWith("pulumi-nodejs:")) {
        return { deployKeyId: 4242, hookId: 4343, fingerprintSha256: `SHA256:mock-${name}` };
      }
      return inputs.metadata?.name === undefined && inputs.metadata !== undefined
        ? { metadata: { ...inputs.metadata, name: `${name}-generated` } }
        : {};
  }
}

function unwrapSecrets(value: any, path: string, secrets: string[]): any {
  if (Array.isArray(value))
    return value.map((item, i) => unwrapSecrets(item, `${path}[${i}]`, secrets));
  if (value === null || typeof value !== "object") return value;
  if (value[SECRET_SIG_KEY] === SECRET_SIG) {
    secrets.push(path);
    return unwrapSecrets(value.value, path, secrets);
  }
  const out: Record<string, any> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = unwrapSecrets(item, path ? `${path}.${key}` : key, secrets);
  }
  return out;
}

pulumi.runtime.setMocks(
  {
    newResource: (args) => ({
      id: args.id ?? `${args.name}-id`,
      state: { ...args.inputs, ...computedOutputs(args.type, args.name, args.inputs) },
    }),
    call: (args) => args.inputs,
  },
  "tekton-gitlab",
  "dev",
  false,
);

// `transforms` need no patch: setMocks declares the mock monitor supports them (@pulumi/pulumi
// 3.276.0 runtime/mocks.js `setMocks`: `store.supportsTransforms = true`; 3.248.0 set false, and
// this file set it true). The SDK serves the callbacks on 127.0.0.1 (runtime/callbacks.js
// `CallbackServer`, unref'd) and hands them to `newResource` as `args.transforms`
// (`MockMonitor.registerResource`); nothing calls them, the tests call the transform functions
// directly. tests/harness/mocks.test.ts checks this.

// The mock monitor drops parent, dependencies and options before calling `newResource`; wrap
// it to keep them, so tests can assert the resource tree and `dependsOn` wiring.
const monitor = pulumi.runtime.getMonitor() as any;
const registerResource = monitor.registerResource.bind(monitor);
monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
  registerResource(req, (err: any, resp: any) => {
    if (!err) {
      const secretPaths: string[] = [];
      registered.push({
        type: req.getType(),
        name: req.getName(),
        urn: resp.getUrn(),
        custom: req.getCustom(),
        inputs: unwrapSecrets(req.getObject()?.toJavaScript() ?? {}, "", secretPaths),
        secretPaths,
        parent: req.getParent(),
        dependencies: req.getDependenciesList(),
        deleteBeforeReplace: req.getDeletebeforereplace(),
        replaceOnChanges: req.getReplaceonchangesList(),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        transforms: req.getTransformsList().length,
        retainOnDelete: req.getRetainondelete() === true,
        replacementTrigger: req.getReplacementTrigger()?.toJavaScript(),
        aliases: req.getAliasesList().map((alias: any) => alias.toObject()),
      });
    }
    callback(err, resp);
  });
};

/** Waits until every resource registration started so far has reached the mock monitor. */
export async function settle(): Promise<void> {
  // The runtime counts in-flight RPCs; this is what `pulumi up` awaits before exiting.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings");
  await settings.waitForRPCs();
}

/** Resolves an Output in a test, surfacing errors thrown inside `apply` instead of hanging. */
export function resolve<T>(output: pulumi.Input<T>): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const out = pulumi.output(output) as any;
    out.promise().then(resolvePromise, reject);
  });
}

/** True when the Output is marked secret. */
export function isSecret(output: pulumi.Output<unknown>): Promise<boolean> {
  return (output as any).isSecret as Promise<boolean>;
}
