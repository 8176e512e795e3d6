// apps[].mergeRequests (issue 21): what the config accepts, its defaults, and every value refused
// with its full key before the program registers anything.
import "../harness/mocks";
import * as assert from "node:assert/strict";
import { ConfigError, parseStackConfig } from "../../config/load";
import { exampleConfig, runProgram, withStructured } from "../harness/program";
import { REGISTRY_SECRET } from "../../tekton/core/names";

const KEY = "tekton-gitlab:apps[0].mergeRequests";

const withMergeRequests = (mergeRequests: unknown) =>
  withStructured(exampleConfig(), "apps", (apps) => {
    apps[0].mergeRequests = mergeRequests;
    return apps;
  });

/** Each refused value: the key its problem must start with and the words after it. */
const REFUSED: { what: string; value: unknown; key: string; says: string }[] = [
  {
    what: "an unknown key (a typo of build)",
    value: { bild: true },
    key: `${KEY}.bild`,
    says: "unknown key (did you mean build?)",
  },
  {
    what: "an unknown key beside valid ones",
    value: { build: true, deploy: true },
    key: `${KEY}.deploy`,
    says: "unknown key (a typo?)",
  },
  {
    what: "build as a string",
    value: { build: "true" },
    key: `${KEY}.build`,
    says: "expected boolean",
  },
  { what: "build as a number", value: { build: 1 }, key: `${KEY}.build`, says: "expected boolean" },
  {
    what: "push as a string",
    value: { build: true, push: "yes" },
    key: `${KEY}.push`,
    says: "expected boolean",
  },
  {
    what: "push null",
    value: { build: true, push: null },
    key: `${KEY}.push`,
    says: "expected boolean",
  },
  {
    what: "an empty retestComment",
    value: { build: true, retestComment: "" },
    key: `${KEY}.retestComment`,
    says: "expected a non-empty comment such as /retest",
  },
  {
    what: "a whitespace-only retestComment",
    value: { build: true, retestComment: " \t " },
    key: `${KEY}.retestComment`,
    says: "expected a non-empty comment such as /retest",
  },
  {
    what: "a retestComment of 101 characters",
    value: { build: true, retestComment: `/${"r".repeat(100)}` },
    key: `${KEY}.retestComment`,
    says: "expected a comment of at most 100 characters",
  },
  {
    what: "a retestComment with a newline",
    value: { build: true, retestComment: "/retest\nplease" },
    key: `${KEY}.retestComment`,
    says: "expected a comment on one line (no newline)",
  },
  {
    what: "a retestComment with a carriage return",
    value: { build: true, retestComment: "/retest\rplease" },
    key: `${KEY}.retestComment`,
    says: "expected a comment on one line (no newline)",
  },
  {
    what: "a retestComment with a leading space",
    value: { build: true, retestComment: " /retest" },
    key: `${KEY}.retestComment`,
    says: "expected a comment without leading or trailing whitespace (a comment is compared trimmed)",
  },
  {
    what: "a retestComment with a trailing tab",
    value: { build: true, retestComment: "/retest\t" },
    key: `${KEY}.retestComment`,
    says: "expected a comment without leading or trailing whitespace (a comment is compared trimmed)",
  },
  {
    // The Note filter trims with cel-go's trim() (Go strings.TrimSpace), which also strips
    // U+0085 (NEL), where JS trim() does not: no comment could ever be equal to this one.
    what: "a retestComment ending in U+0085 (NEL), which the filter's trim() strips",
    value: { build: true, retestComment: "/retest\u0085" },
    key: `${KEY}.retestComment`,
    says: "expected a comment without leading or trailing whitespace (a comment is compared trimmed)",
  },
  {
    what: "a retestComment that is not a string",
    value: { build: true, retestComment: 7 },
    key: `${KEY}.retestComment`,
    says: "expected string",
  },
  { what: "mergeRequests: true (not an object)", value: true, key: KEY, says: "expected object" },
  ...["Registry", "mr_registry", "-mr", "mr..registry", "", "a".repeat(254)].map((name) => ({
    what: `registrySecretName ${JSON.stringify(name.length > 20 ? `${name.slice(0, 4)}... (${name.length})` : name)}`,
    value: { build: true, registrySecretName: name },
    key: `${KEY}.registrySecretName`,
    says: "expected a Secret name: a DNS subdomain (lower case letters, digits, '-' and '.', at most 253 characters)",
  })),
  {
    what: "registrySecretName that is not a string",
    value: { build: true, push: true, registrySecretName: 7 },
    key: `${KEY}.registrySecretName`,
    says: "expected string",
  },
  {
    // The push build's Secret can write the layer cache its deploys reuse: a RUN line holding
    // it could store a layer under a cache key the next reviewed build computes (Kaniko v1.28.3
    // pkg/cache/cache.go `RetrieveLayer` trusts any image at <cache-repo>:<key> within the TTL).
    what: "registrySecretName: registry-credentials while the layer cache is on",
    value: { build: true, push: true, registrySecretName: "registry-credentials" },
    key: `${KEY}.registrySecretName`,
    says: "must not be registry-credentials while build.cache.enabled is true (the default): a merge request's Dockerfile RUN lines can read it, and it may write the layer cache the push builds reuse in deployed, signed images; name a Secret that may not write the cache repository, or turn the layer cache off",
  },
  {
    // A registry that wants a login refuses an anonymous push: a merge request build never
    // borrows the push build's registry-credentials.
    what: "push: true while registry.username is set, without registrySecretName",
    value: { build: true, push: true },
    key: `${KEY}.registrySecretName`,
    says: "required with mergeRequests.push: true while tekton-gitlab:registry.username is set: the name of a kubernetes.io/dockerconfigjson Secret in the build namespace whose credentials may push the mr- tags (merge request builds never get the push build's registry-credentials unless it is named here), or set push: false",
  },
];

describe("config: apps[].mergeRequests", function () {
  this.timeout(20000);

  it("defaults to build off, push off and /retest when unset", () => {
    const [app] = parseStackConfig(exampleConfig(), {}).apps;
    assert.deepEqual(app.mergeRequests, { build: false, push: false, retestComment: "/retest" });
  });

  it("fills what an object leaves out, and keeps what it sets", () => {
    const parse = (value: unknown) =>
      parseStackConfig(withMergeRequests(value), {}).apps[0].mergeRequests;
    assert.deepEqual(parse({}), { build: false, push: false, retestComment: "/retest" });
    assert.deepEqual(parse({ build: true }), {
      build: true,
      push: false,
      retestComment: "/retest",
    });
    assert.deepEqual(
      parse({
        build: true,
        push: true,
        retestComment: "/build again",
        registrySecretName: "mr-registry",
      }),
      {
        build: true,
        push: true,
        retestComment: "/build again",
        registrySecretName: "mr-registry",
      },
    );
  });

  describe("registrySecretName: the only registry credentials a merge request build gets", () => {
    const anonymous = (mergeRequests: unknown) => {
      const raw = withStructured(withMergeRequests(mergeRequests), "registry", (r) => ({
        host: r.host,
      }));
      delete raw["tekton-gitlab:registryPassword"];
      return raw;
    };

    it("accepts a DNS subdomain, kept as given", () => {
      for (const name of ["mr-registry", "a", "mr.registry-1", "a".repeat(253)]) {
        const parsed = parseStackConfig(
          withMergeRequests({ build: true, registrySecretName: name }),
          {},
        ).apps[0].mergeRequests;
        assert.equal(parsed.registrySecretName, name);
      }
    });

    it("push: true with registry.username and registrySecretName: accepted", async () => {
      const value = { build: true, push: true, registrySecretName: "mr-registry" };
      assert.deepEqual(parseStackConfig(withMergeRequests(value), {}).apps[0].mergeRequests, {
        ...value,
        retestComment: "/retest",
      });
      const run = await runProgram(withMergeRequests(value));
      assert.ifError(run.error);
    });

    it("push: true without registry.username: accepted without it (an anonymous registry)", async () => {
      const parsed = parseStackConfig(anonymous({ build: true, push: true }), {}).apps[0]
        .mergeRequests;
      assert.deepEqual(parsed, { build: true, push: true, retestComment: "/retest" });
      const run = await runProgram(anonymous({ build: true, push: true }));
      assert.ifError(run.error);
    });

    it("push: false never needs it, with or without registry.username", () => {
      for (const raw of [
        withMergeRequests({ build: true, push: false }),
        withMergeRequests({ build: true }),
        anonymous({ build: true, push: false }),
      ]) {
        assert.equal(parseStackConfig(raw, {}).apps[0].mergeRequests.registrySecretName, undefined);
      }
    });

    it("registry-credentials is accepted only with the layer cache off", () => {
      // config/load.ts spells the push build's Secret name itself.
      assert.equal(REGISTRY_SECRET, "registry-credentials");
      const raw = withStructured(
        withMergeRequests({ build: true, registrySecretName: "registry-credentials" }),
        "apps",
        (apps) => {
          apps[0].build = { ...(apps[0].build ?? {}), cache: { enabled: false } };
          return apps;
        },
      );
      assert.equal(
        parseStackConfig(raw, {}).apps[0].mergeRequests.registrySecretName,
        "registry-credentials",
      );
    });

    it("build: false never needs it, even with push: true", () => {
      const parsed = parseStackConfig(withMergeRequests({ build: false, push: true }), {}).apps[0]
        .mergeRequests;
      assert.deepEqual(parsed, { build: false, push: true, retestComment: "/retest" });
    });

    it("the second app's missing Secret is reported with its own index", () => {
      const raw = withStructured(exampleConfig(), "apps", ([first]) => [
        { ...first, mergeRequests: { build: true, push: true, registrySecretName: "mr" } },
        {
          ...first,
          name: "orders",
          namespace: "orders-build",
          sourceProject: "shop/orders",
          operationsProject: "shop/orders-operations",
          imageRepository: "shop/orders",
          mergeRequests: { build: true, push: true },
        },
      ]);
      assert.throws(
        () => parseStackConfig(raw, {}),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.problems.length === 1 &&
          error.problems[0].startsWith(
            "tekton-gitlab:apps[1].mergeRequests.registrySecretName: required with mergeRequests.push: true",
          ),
      );
    });
  });

  it("accepts a retestComment of exactly 100 characters, and inner spaces", () => {
    const parse = (retestComment: string) =>
      parseStackConfig(withMergeRequests({ build: true, retestComment }), {}).apps[0].mergeRequests
        .retestComment;
    const longest = `/${"r".repeat(99)}`;
    assert.equal(longest.length, 100);
    assert.equal(parse(longest), longest);
    assert.equal(parse("please build this again"), "please build this again");
  });

  describe(`refuses with the full key, before registering anything (${REFUSED.length} cases)`, () => {
    for (const bad of REFUSED) {
      it(bad.what, async () => {
        const run = await runProgram(withMergeRequests(bad.value));
        assert.ok(run.error instanceof ConfigError, `expected ConfigError, got ${run.error}`);
        assert.deepEqual(run.error.problems, [`${bad.key}: ${bad.says}`]);
        assert.deepEqual(run.resources, [], "resources were registered despite bad config");
      });
    }
  });
});
