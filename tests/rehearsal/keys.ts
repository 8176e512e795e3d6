// Real ED25519 keys for a rehearsal, from node:crypto, written in the formats ssh reads: the
// public key as an `authorized_keys`/`known_hosts` line and the private key as an unencrypted
// "openssh-key-v1" file (OpenSSH PROTOCOL.key; node:crypto exports PKCS#8 only, which
// OpenSSH's own ed25519 loader does not read).
import * as crypto from "node:crypto";
import { KeyMaterial } from "../harness/mocks";

function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

export interface Ed25519Key extends KeyMaterial {
  /** `ssh-ed25519 AAAA...` without comment or newline. */
  publicKeyLine: string;
}

export function generateEd25519(comment: string): Ed25519Key {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
  // The raw 32-byte keys are the last 32 bytes of the SPKI and PKCS#8 DER encodings (RFC 8410).
  const pub = publicKey.export({ type: "spki", format: "der" }).subarray(-32);
  const seed = privateKey.export({ type: "pkcs8", format: "der" }).subarray(-32);
  const publicBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
  const check = crypto.randomBytes(4).readUInt32BE();
  let secret = Buffer.concat([
    uint32(check),
    uint32(check),
    sshString("ssh-ed25519"),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const padding: number[] = [];
  for (let i = 1; (secret.length + padding.length) % 8 !== 0; i++) padding.push(i);
  secret = Buffer.concat([secret, Buffer.from(padding)]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(publicBlob),
    sshString(secret),
  ]).toString("base64");
  const lines = body.match(/.{1,70}/g) ?? [];
  const publicKeyLine = `ssh-ed25519 ${publicBlob.toString("base64")}`;
  const fingerprint = crypto.createHash("sha256").update(publicBlob).digest("base64");
  return {
    publicKeyLine,
    publicKeyOpenssh: `${publicKeyLine}\n`,
    publicKeyFingerprintSha256: `SHA256:${fingerprint.replace(/=+$/, "")}`,
    privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`,
  };
}
