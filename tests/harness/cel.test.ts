// The sink model's CEL (tests/harness/cel.ts) behaves like Triggers v0.37.0's where the stack's
// filters depend on it: doubles for JSON numbers, has() on maps, errors for missing keys, and
// trim/truncate with their Go semantics rather than JavaScript's.
import * as assert from "node:assert/strict";
import { CelError, canonicalHeaderKey, evaluateCel, goTrimSpace, goTruncate } from "./cel";

const run = (expression: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  evaluateCel(expression, { body, headers });

describe("sink model CEL (Triggers v0.37.0 environment)", () => {
  it("reads JSON numbers as doubles, as json.Unmarshal into interface{} gives them", () => {
    const body = JSON.parse('{"iid": 1, "half": 1.5}');
    assert.equal(run("type(body.iid) == double", body), true);
    assert.equal(run("type(body.iid) == int", body), false);
    assert.equal(run("body.iid == 1.0 && body.iid >= 1.0", body), true);
    assert.equal(run("string(int(body.iid))", body), "1");
    assert.equal(run("double(int(body.half)) == body.half", body), false);
  });

  it("has() on a map: true for a present key (even null), false for an absent one", () => {
    const body = { mr: { oldrev: null, iid: 3 } };
    assert.equal(run("has(body.mr.oldrev)", body), true);
    assert.equal(run("has(body.mr.iid)", body), true);
    assert.equal(run("has(body.mr.action)", body), false);
    assert.equal(run("!has(body.mr.action) || body.mr.action == 'create'", body), true);
  });

  it("a missing key, a wrong type or a parse error is a CEL error", () => {
    assert.throws(() => run("body.project.id == 1.0", {}), CelError);
    assert.throws(() => run("body.note.matches('x')", { note: 1 }), CelError);
    assert.throws(() => run("body.x ==", {}), CelError);
    assert.throws(() => run("nobody.x == 1.0", {}), CelError);
    // Equality across types is false, not an error (cel-go heterogeneous equality).
    assert.equal(run("body.x == 'a'", { x: 1 }), false);
  });

  it("trim() is Go's strings.TrimSpace (cel-go ext Strings), not String.prototype.trim", () => {
    assert.equal(run("body.n.trim()", { n: "  /retest \n" }), "/retest");
    assert.equal(run("body.n.trim()", { n: "\t\u00a0/retest\u2003\r\n" }), "/retest");
    // U+0085 is Go space and not JS space; U+FEFF the other way round.
    assert.equal(run("body.n.trim()", { n: "\u0085/retest\u0085" }), "/retest");
    assert.equal(run("body.n.trim()", { n: "\ufeff/retest" }), "\ufeff/retest");
    assert.equal(goTrimSpace("\u200b/retest"), "\u200b/retest", "zero-width space stays");
    // A literal that spells .trim() is text, not a call.
    assert.equal(run("body.n == '/x.trim()'", { n: "/x.trim()" }), true);
  });

  it("truncate(n) keeps the first n bytes, all of a shorter string, and errors below 0", () => {
    assert.equal(run("body.s.truncate(4)", { s: "abcdef" }), "abcd");
    assert.equal(run("body.s.truncate(40)", { s: "abc" }), "abc");
    assert.equal(run("body.s.truncate(0)", { s: "abc" }), "");
    assert.throws(() => run("body.s.truncate(-1)", { s: "abc" }), CelError);
    assert.equal(goTruncate("é-x", 2n), "é", "bytes, not characters");
    assert.throws(() => goTruncate("é", 1n), /not modelled/);
    assert.throws(() => run("body.s.truncate(4)", { s: 12 }), CelError);
  });

  it("header is http.Header: canonical keys, each a list of values", () => {
    const headers = { "x-gitlab-event": "Note Hook" };
    assert.equal(canonicalHeaderKey("x-gitlab-event"), "X-Gitlab-Event");
    assert.equal(run("header['X-Gitlab-Event'][0] == 'Note Hook'", {}, headers), true);
    assert.equal(run("has(header.X_Token)", {}, headers), false);
  });
});
