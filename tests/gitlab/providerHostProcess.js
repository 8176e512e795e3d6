// A stand-in for Pulumi's dynamic provider host, run as its own plain `node` process (no
// ts-node) in the project directory, as the engine runs `pulumi-resource-pulumi-nodejs`.
// It loads providers the way @pulumi/pulumi 3.248.0 `cmd/dynamic-provider/index.ts`
// `getProvider` does: `requireFromString(props.__provider).handler()`, once per distinct text,
// then `configure({ config })` with the stack config. Calls arrive as JSON lines on stdin
// ({ n, text, method, args }); answers go out as JSON lines on stdout ({ n, result | error }).
// It exits when stdin closes.
"use strict";
const readline = require("readline");
const requireFromString = require("require-from-string");
const { Config } = require("@pulumi/pulumi/cmd/dynamic-provider/config");

const config = JSON.parse(process.env.PROVIDER_HOST_CONFIG || "{}");
const providers = {};

async function getProvider(text) {
  let provider = providers[text];
  if (!provider) {
    provider = requireFromString(text).handler();
    providers[text] = provider;
    if (provider.configure)
      await provider.configure({ config: new Config(config, "tekton-gitlab") });
  }
  return provider;
}

function answer(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

answer({ ready: true, tsLoaderAtStart: Boolean(require.extensions[".ts"]) });
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const { n, text, method, args } = JSON.parse(line);
  getProvider(text)
    .then((provider) => provider[method](...args))
    .then(
      (result) => answer({ n, result: result === undefined ? null : result }),
      (error) =>
        answer({
          n,
          error: { name: error && error.name, message: String(error && error.message) },
        }),
    );
});
