// Imports run downward only: config/ at the bottom, then tekton/ (core below the other tekton
// folders), then components/ (core below the other components folders), then index.ts, with
// tests/ and scripts/ on top. `npm test` runs this (`npm run depcheck`); a violation prints the
// rule's name and the import that breaks it. Type-only imports count: a layer that needs another
// layer's types depends on it as much as on its values.
/** The program: everything `pulumi up` or the policy pack loads. */
const PROGRAM = "^(config|tekton|components|policy)/|^(index|outputs)\\.ts$";

/** A rule that fails `npm test`: imports matching `from` -> `to` are forbidden. */
const forbid = (name, comment, from, to) => ({ name, comment, severity: "error", from, to });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    forbid(
      "no-circular-imports",
      "A circle has no bottom: move what both sides need into a module below them.",
      {},
      { circular: true },
    ),
    forbid(
      "config-imports-nothing-from-the-program",
      "config/ is the bottom layer (schema, validation, defaults): it imports only its own " +
        "files and packages, never tekton/, components/, policy/, scripts/, tests/ or index.ts.",
      { path: "^config/" },
      { path: "^(tekton|components|policy|scripts|tests)/|^(index|outputs)\\.ts$" },
    ),
    forbid(
      "tekton-imports-no-components",
      "tekton/ builds plain manifests; the Pulumi components in components/ use it.",
      { path: "^tekton/" },
      { path: "^components/" },
    ),
    forbid(
      "tekton-core-imports-no-other-tekton-folder",
      "tekton/core (names, types, variables) is what the other tekton folders share.",
      { path: "^tekton/core/" },
      { path: "^tekton/", pathNot: "^tekton/core/" },
    ),
    forbid(
      "components-core-imports-no-other-components-folder",
      "components/core is what the other components folders share.",
      { path: "^components/core/" },
      { path: "^components/", pathNot: "^components/core/" },
    ),
    forbid(
      "program-imports-no-tests-or-scripts",
      "Tests and scripts drive the program; the program never depends on them.",
      { path: PROGRAM },
      { path: "^(tests|scripts)/" },
    ),
    forbid(
      "nothing-imports-index",
      "index.ts is the Pulumi entry point. Only the test harness loads it, at run time, to " +
        'run the program under mocks (tests/harness/program.ts: require("../../index")).',
      { pathNot: "^tests/harness/program\\.ts$" },
      { path: "^index\\.ts$" },
    ),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^node_modules/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    moduleSystems: ["cjs", "es6"],
  },
};
