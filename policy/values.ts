// Reading resource properties that may be unknown during preview, shared by the policies.
import { UnknownValueError } from "@pulumi/policy";

export const UNKNOWN = Symbol("unknown during preview");
export type Maybe<T> = T | typeof UNKNOWN;

/** Reads a value that may be unknown during preview; UNKNOWN instead of the framework's throw. */
export function known<T>(read: () => T): Maybe<T> {
  try {
    return read();
  } catch (error) {
    if (error instanceof UnknownValueError) return UNKNOWN;
    throw error;
  }
}

export function isObject(value: unknown): value is Record<string, any> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The elements of a possibly unknown list; unknown elements become undefined (indexes kept). */
export function knownItems(read: () => unknown): any[] {
  const list = known(read);
  if (!Array.isArray(list)) return [];
  const items: any[] = [];
  for (let index = 0; index < list.length; index++) {
    const item = known(() => list[index]);
    items.push(item === UNKNOWN ? undefined : item);
  }
  return items;
}

export function knownString(read: () => unknown): string | undefined {
  const value = known(read);
  return typeof value === "string" ? value : undefined;
}

/** `known`, with undefined for a value unknown during preview. */
export function knownOrUndefined<T>(read: () => T): T | undefined {
  const value = known(read);
  return value === UNKNOWN ? undefined : value;
}
