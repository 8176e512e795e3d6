// Imports run downward only: config/ at the bottom, then tekton/ (core below the other tekton
// folders), then components/ (core below the other components folders), then index.ts, with
// tests/ and scripts/ on top. `npm test` runs this (`npm run depcheck`); a violation prints the
// rule's name and the import that breaks it. Type-only imports count: a layer that needs another
// layer's types depends on it as much as on its values.
/** The program: everything `pulumi up` or the policy pack loads. */
const PROGRAM = "^(config|tekton|components|policy)/|^(index|outputs)\\.ts$";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular-imports",
      comment: "A circle has no bottom: move what both sides need into a module below them.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "config-imports-nothing-from-the-program",
      comment:
        "config/ is the bottom layer (schema, validation, defaults): it imports only its own " +
        "files and packages, never tekton/, components/, policy/, scripts/, tests/ or index.ts.",
      severity: "error",
      from: { path: "^config/" },
      to: { path: "^(tekton|components|policy|scripts|tests)/|^(index|outputs)\\.ts$" },
    },
    {
      name: "tekton-imports-no-components",
      comment: "tekton/ builds plain manifests; the Pulumi components in components/ use it.",
      severity: "error",
      from: { path: "^tekton/" },
      to: { path: "^components/" },
    },
    {
      name: "tekton-core-imports-no-other-tekton-folder",
      comment: "tekton/core (names, types, variables) is what the other tekton folders share.",
      severity: "error",
      from: { path: "^tekton/core/" },
      to: { path: "^tekton/", pathNot: "^tekton/core/" },
    },
    {
      name: "components-core-imports-no-other-components-folder",
      comment: "components/core is what the other components folders share.",
      severity: "error",
      from: { path: "^components/core/" },
      to: { path: "^components/", pathNot: "^components/core/" },
    },
    {
      name: "program-imports-no-tests-or-scripts",
      comment: "Tests and scripts drive the program; the program never depends on them.",
      severity: "error",
      from: { path: PROGRAM },
      to: { path: "^(tests|scripts)/" },
    },
    {
      name: "nothing-imports-index",
      comment:
        "index.ts is the Pulumi entry point. Only the test harness loads it, at run time, to " +
        "run the program under mocks (tests/harness/program.ts: require(\"../../index\")).",
      severity: "error",
      from: { pathNot: "^tests/harness/program\\.ts$" },
      to: { path: "^index\\.ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^node_modules/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    moduleSystems: ["cjs", "es6"],
  },
};
