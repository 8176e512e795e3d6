// Turns the text of a `Pulumi.<stack>.yaml` into the `key -> string` map Pulumi hands a program,
// so scripts and tests can validate a stack file without the Pulumi CLI.
import { parse } from "yaml";
import { NAMESPACE } from "./load";

/**
 * Structured values become JSON and scalars strings, as `pulumi.runtime.allConfig()` gives them.
 * Keys without a namespace get the project's. `secure:` values are left out: they cannot be
 * decrypted here and no caller may need them.
 */
export function parseStackFile(text: string): Record<string, string> {
  const doc = parse(text) ?? {};
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new Error("expected a stack file holding a mapping (with a `config:` key)");
  }
  const config = (doc as Record<string, unknown>).config ?? {};
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new Error("expected `config:` in the stack file to be a mapping of keys to values");
  }
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    if (value !== null && typeof value === "object" && "secure" in value) continue;
    const fullKey = key.includes(":") ? key : `${NAMESPACE}:${key}`;
    raw[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return raw;
}
