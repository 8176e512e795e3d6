// The CEL interceptor's language as Tekton Triggers v0.37.0 evaluates it, on a real CEL
// implementation (@marcbachmann/cel-js) instead of a hand-written subset:
//  - pkg/interceptors/cel/cel.go `makeCelEnv`: `body`, `header` and `extensions` are
//    map(string, dyn), `requestURL` a string; `makeEvalContext` json.Unmarshal's the body into
//    map[string]interface{}, so every JSON number is a float64: a CEL double (a JS number is one
//    to cel-js), `header` is the request's http.Header (canonical keys, each a list of values);
//  - `evaluate`: parse, check, then eval; any error there fails the interceptor, which stops
//    the Trigger as a false filter does (`Process`: `Failf(codes.InvalidArgument, ...)`);
//  - of the libraries it loads, the functions the stack's expressions use: cel-go ext Strings
//    `trim()` and Triggers' own `truncate(int)` (pkg/interceptors/cel/triggers.go), each with its
//    upstream semantics (below). Where cel-js and cel-go differ and the difference could decide
//    a Trigger, the model says so (see the tests in tests/harness/cel.test.ts).
import * as assert from "node:assert/strict";
import { Environment, EvaluationError } from "@marcbachmann/cel-js";

/**
 * Go's strings.TrimSpace set (unicode.IsSpace: the Latin-1 spaces incl. U+0085, then the
 * White_Space property). JS's String.prototype.trim differs: it also trims U+FEFF and keeps
 * U+0085.
 */
const GO_SPACE =
  "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const GO_TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, "gu");

/**
 * cel-go ext/strings.go `trimSpace`: `strings.TrimSpace(str)` (the same at v0.28.1 and at the
 * snapshot's HEAD; Triggers v0.37.0 go.mod pins cel-go v0.30.0).
 */
export function goTrimSpace(text: string): string {
  return text.replace(GO_TRIM, "");
}

/**
 * Triggers v0.37.0 pkg/interceptors/cel/triggers.go `truncateString`: `str[:max(n, len(str))]`,
 * where that file's own `max` returns the smaller of the two: the first n bytes of the UTF-8
 * string, all of it when shorter. A negative n panics in the slice expression, which cel-go's
 * `prg.Eval` recovers as an error (cel/program.go: `internal error`).
 */
export function goTruncate(text: string, n: bigint): string {
  if (n < 0n) throw new EvaluationError(`internal error: slice bounds out of range [:${n}]`);
  const bytes = Buffer.from(text, "utf8");
  const cut = Number(n < BigInt(bytes.length) ? n : BigInt(bytes.length));
  // A cut inside a UTF-8 sequence leaves Go an invalid string, which cel-js has no way to hold.
  assert.ok(
    cut === bytes.length || (bytes[cut] & 0xc0) !== 0x80,
    `truncate(${n}) cuts a character in two: not modelled`,
  );
  return bytes.subarray(0, cut).toString("utf8");
}

/**
 * cel-js already declares `string.trim()` (with JS semantics) and refuses a second overload of
 * it, so parsed expressions have their zero-argument `trim` calls pointed at this name, which
 * holds cel-go's. The rewrite is on the AST: string literals are left alone.
 */
const TRIM_IMPLEMENTATION = "__celGoTrimSpace";

const environment = new Environment()
  .registerVariable("body", "map<string, dyn>")
  .registerVariable("header", "map<string, dyn>")
  .registerVariable("extensions", "map<string, dyn>")
  .registerVariable("requestURL", "string")
  .registerFunction(`string.${TRIM_IMPLEMENTATION}(): string`, goTrimSpace)
  .registerFunction("string.truncate(int): string", goTruncate);

/** Points every `<x>.trim()` of the parsed expression at cel-go's trim. */
function useGoTrim(node: unknown, seen = new Set<unknown>()): void {
  if (node === null || typeof node !== "object" || seen.has(node)) return;
  seen.add(node);
  const ast = node as { op?: string; args?: unknown };
  if (Array.isArray(node)) {
    for (const child of node) useGoTrim(child, seen);
    return;
  }
  if (ast.op === "rcall" && Array.isArray(ast.args)) {
    const [name, , args] = ast.args as [string, unknown, unknown[]];
    if (name === "trim" && args.length === 0) ast.args[0] = TRIM_IMPLEMENTATION;
  }
  if (ast.op !== "value") useGoTrim(ast.args, seen);
}

type Compiled = ReturnType<Environment["parse"]>;
const compiled = new Map<string, Compiled>();

/** Parse and check, as Triggers' `evaluate` does first; a failure throws (a CEL error). */
function compile(expression: string): Compiled {
  let program = compiled.get(expression);
  if (!program) {
    program = environment.parse(expression);
    useGoTrim(program.ast);
    const checked = program.check();
    if (!checked.valid) throw checked.error;
    compiled.set(expression, program);
  }
  return program;
}

/** The activation `makeEvalContext` builds. */
export interface EvalContext {
  /** The request body, as JSON.parse gives it (numbers are doubles, as in Go's json). */
  body: unknown;
  /** Request headers as sent; canonicalised and turned into lists here, like http.Header. */
  headers: Record<string, string>;
  extensions?: Record<string, unknown>;
  requestURL?: string;
}

/** Go net/textproto `CanonicalMIMEHeaderKey` for the header names a test sends. */
export function canonicalHeaderKey(name: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(name)) return name;
  return name
    .toLowerCase()
    .replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

function activation(context: EvalContext) {
  const header: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(context.headers)) {
    (header[canonicalHeaderKey(name)] ??= []).push(value);
  }
  return {
    body: context.body ?? {},
    header,
    extensions: context.extensions ?? {},
    requestURL: context.requestURL ?? "",
  };
}

/** A CEL error: parse, check or evaluation (Triggers: the interceptor fails). */
export class CelError extends Error {}

/** One expression's value, or a CelError. */
export function evaluateCel(expression: string, context: EvalContext): unknown {
  try {
    return compile(expression)(activation(context));
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    throw new CelError((error as Error).message.split("\n")[0]);
  }
}

/**
 * An overlay's value as it lands in the extensions: cel.go `Process` marshals strings, numbers,
 * bools, lists and maps to JSON (ints through structpb, so as numbers) and the sink decodes it.
 */
export function overlayValue(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [String(k), overlayValue(v)]));
  }
  if (Array.isArray(value)) return value.map(overlayValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, overlayValue(v)]));
  }
  assert.ok(
    value === null || ["string", "number", "boolean"].includes(typeof value),
    `overlay value of type ${typeof value}: not modelled`,
  );
  return value;
}
