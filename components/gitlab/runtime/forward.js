// A dynamic provider that forwards every call to the project's components/gitlab/provider.ts.
//
// This package is installed as a copy in node_modules (`file:` dependency + `install-links=true`
// in .npmrc), so Pulumi's closure serializer stores `require("@tekton-gitlab/gitlab-provider/
// deploy-key.js")` in a resource's `__provider` instead of the provider's code: a module whose
// require.cache path has a `node_modules` segment is captured by name (@pulumi/pulumi 3.276.0
// `runtime/closure/createClosure.ts` `findNormalizedModuleNameAsync`, `captureModuleAsync`).
// The dynamic provider host evaluates that text with `require-from-string` and no file name,
// so `require` searches node_modules from its working directory, which is the project
// directory (`cmd/dynamic-provider/index.ts` `getProvider`; pkg/engine/project.go `getPwdMain`).
//
// Keep this file stable and small: it is what every state written since it exists runs.
"use strict";
const path = require("path");

/** Where the implementation lives, relative to the project directory (the host's cwd). */
const ENTRY = "components/gitlab/provider";
const METHODS = ["check", "diff", "create", "read", "update", "delete"];

function load(kind) {
  const file = path.resolve(process.cwd(), ENTRY);
  try {
    // The host is plain Node; load TypeScript as `pulumi up` loaded the program, with the
    // project's ts-node (transpile only; types are checked by tsc in CI).
    if (!require.extensions[".ts"]) {
      require(require.resolve("ts-node", { paths: [process.cwd()] })).register({
        transpileOnly: true,
        projectSearchDir: process.cwd(),
      });
    }
    return require(file).provider(kind);
  } catch (error) {
    throw new Error(
      `GitLab ${kind} provider: cannot load ${file}.ts from ${process.cwd()}: ` +
        `${error && error.message}. The state runs the project's own code: run pulumi in the ` +
        "project directory after `npm ci` (dev dependencies included).",
    );
  }
}

module.exports = function forward(kind) {
  // In an object, not a `let`: should this file ever be serialized by value (a symlinked
  // install), each serialized function would get its own copy of a captured variable.
  const loaded = { impl: undefined };
  const provider = {
    // The host configures a provider once, right after loading it, with the stack's config:
    // start from a fresh implementation each time.
    configure(req) {
      loaded.impl = load(kind);
      return loaded.impl.configure ? loaded.impl.configure(req) : undefined;
    },
  };
  // Every method exists up front: the host silently skips `read` and `delete` (and so would
  // forget a key) when the provider has none (`readRPC`, `deleteRPC`).
  for (const method of METHODS) {
    provider[method] = (...args) => {
      if (!loaded.impl) loaded.impl = load(kind);
      return loaded.impl[method](...args);
    };
  }
  return provider;
};
