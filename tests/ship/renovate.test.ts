// renovate.json: every custom manager still finds exactly the versions in force (a regex that
// stops matching is a silent failure: Renovate then just stops proposing updates), the images it
// covers are the images the program uses, and the file uses only keys Renovate knows.
//
// The extraction below repeats Renovate's (renovatebot/renovate lib/modules/manager/custom/regex/
// strategies.ts `handleAny`: each matchString compiled with flag "g" and applied to the whole
// file; utils.ts `createDependency`: a `<field>Template` wins over the capture group of the same
// name) and its file selection (lib/util/string-match.ts `getRegexOrGlobPredicate`: a pattern
// written `/.../` is a regex tested against the repository-relative path).
import "../harness/mocks";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { tektonSchema } from "../../config/schema";
import { DEFAULT_IMAGES } from "../../config/images";
import { REPO_ROOT, runProgram } from "../harness/program";
import { DUMPED_CONFIGS } from "../harness/registrationDump";

const RENOVATE = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "renovate.json"), "utf8"));
/** Renovate's gitlabci manager default (lib/modules/manager/gitlabci/index.ts, copied). */
const GITLABCI_FILE_PATTERN = /\.gitlab-ci\.ya?ml$/;
const read = (file: string): string => fs.readFileSync(path.join(REPO_ROOT, file), "utf8");

interface CustomManager {
  customType: string;
  managerFilePatterns: string[];
  matchStrings: string[];
  matchStringsStrategy?: string;
  depNameTemplate?: string;
  datasourceTemplate?: string;
  versioningTemplate?: string;
}
const MANAGERS: CustomManager[] = RENOVATE.customManagers;

interface Dep {
  depName: string;
  currentValue: string;
  currentDigest?: string;
  datasource: string;
}

/** `image:tag[@digest]` for docker, `repository@version` for the rest. */
const depKey = (dep: Dep): string =>
  dep.datasource === "docker"
    ? `${dep.depName}:${dep.currentValue}${dep.currentDigest ? `@${dep.currentDigest}` : ""}`
    : `${dep.depName}@${dep.currentValue}`;

/** Repository files, relative, `/`-separated (what Renovate matches patterns against). */
function repoFiles(dir = ""): string[] {
  const skip = new Set([".git", "node_modules", "bin", "rendered", ".cache"]);
  return fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return skip.has(entry.name) ? [] : repoFiles(rel);
    return entry.isFile() ? [rel] : [];
  });
}
const FILES = repoFiles();

function patternRegex(pattern: string): RegExp {
  const match = /^\/(.*)\/(i?)$/.exec(pattern);
  assert.ok(match, `${pattern}: written /regex/ (a glob would need minimatch to test here)`);
  return new RegExp(match[1], match[2]);
}

const filesOf = (manager: CustomManager): string[] =>
  FILES.filter((file) => manager.managerFilePatterns.some((p) => patternRegex(p).test(file)));

function extract(manager: CustomManager, content: string, matchString: string): Dep[] {
  return [...content.matchAll(new RegExp(matchString, "g"))].map((match) => {
    const groups = match.groups ?? {};
    return {
      depName: manager.depNameTemplate ?? groups.depName,
      currentValue: groups.currentValue,
      currentDigest: groups.currentDigest,
      datasource: manager.datasourceTemplate ?? groups.datasource,
    };
  });
}

/** Every dependency the custom managers extract, per file. */
function extractAll(): Map<string, Dep[]> {
  const byFile = new Map<string, Dep[]>();
  for (const manager of MANAGERS) {
    for (const file of filesOf(manager)) {
      const content = read(file);
      const deps = manager.matchStrings.flatMap((s) => extract(manager, content, s));
      byFile.set(file, [...(byFile.get(file) ?? []), ...deps]);
    }
  }
  return byFile;
}

const TEKTON_DEFAULTS = tektonSchema.parse({});
/** The five Tekton releases the stack installs by default, as Renovate names them. */
const TEKTON_DEFAULT_KEYS = [
  `tektoncd/pipeline@${TEKTON_DEFAULTS.pipelinesVersion}`,
  `tektoncd/triggers@${TEKTON_DEFAULTS.triggersVersion}`,
  `tektoncd/chains@${TEKTON_DEFAULTS.chains.version}`,
  `tektoncd/pruner@${TEKTON_DEFAULTS.pruner.version}`,
  `tektoncd/dashboard@${TEKTON_DEFAULTS.dashboard.version}`,
];
const DEFAULT_IMAGE_REFS = Object.values(DEFAULT_IMAGES) as string[];
const STACK_FILE = /^Pulumi\.[^/]+\.yaml$/;

/** What a stack file pins: its Tekton versions and its image overrides. */
function stackFilePins(file: string): string[] {
  const config = parse(read(file)).config ?? {};
  const tekton = config["tekton-gitlab:tekton"] ?? {};
  const pins: string[] = [];
  if (tekton.pipelinesVersion) pins.push(`tektoncd/pipeline@${tekton.pipelinesVersion}`);
  if (tekton.triggersVersion) pins.push(`tektoncd/triggers@${tekton.triggersVersion}`);
  return [...pins, ...Object.values<string>(config["tekton-gitlab:images"] ?? {})];
}

/**
 * The versions in force, per file, found without renovate.json: the schema's defaults, the
 * step images, what each stack file sets. Program code is checked as a whole further down.
 */
function expectedPins(): Map<string, string[]> {
  const expected = new Map<string, string[]>([
    ["config/schema.ts", TEKTON_DEFAULT_KEYS],
    ["config/images.ts", DEFAULT_IMAGE_REFS],
    ["docs/configuration.md", [...TEKTON_DEFAULT_KEYS, ...DEFAULT_IMAGE_REFS]],
  ]);
  for (const file of FILES.filter((f) => STACK_FILE.test(f)))
    expected.set(file, stackFilePins(file));
  return expected;
}

const isProgramCode = (file: string): boolean => /^(tekton|components)\//.test(file);

/** Every `image` in a registered input, also inside JSON held in a string (the gate's env). */
function collectImages(value: unknown, into: Set<string>): void {
  if (typeof value === "string") {
    if (/^\s*[[{]/.test(value)) {
      try {
        collectImages(JSON.parse(value), into);
      } catch {
        // not JSON: a script or a manifest in YAML, which holds no image of its own
      }
    }
  } else if (Array.isArray(value)) {
    for (const item of value) collectImages(item, into);
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (key === "image" && typeof item === "string") into.add(item);
      collectImages(item, into);
    }
  }
}

const sorted = (values: Iterable<string>): string[] => [...values].sort();

describe("renovate.json", () => {
  describe("every custom manager matches the files as they are", () => {
    const extracted = extractAll();

    for (const manager of MANAGERS) {
      const name = manager.depNameTemplate ?? manager.managerFilePatterns.join(" ");
      it(`${name}: each of its matchStrings finds at least one version`, () => {
        const files = filesOf(manager);
        assert.ok(files.length > 0, `${name}: its managerFilePatterns select no file`);
        for (const matchString of manager.matchStrings) {
          const found = files.flatMap((f) => extract(manager, read(f), matchString));
          assert.ok(found.length > 0, `${name}: ${matchString} matches nothing in ${files}`);
          for (const dep of found) {
            assert.ok(dep.depName && dep.currentValue && dep.datasource, JSON.stringify(dep));
          }
        }
      });
    }

    it("each file yields exactly the versions in force there (schema defaults, DEFAULT_IMAGES, stack files)", () => {
      const expected = expectedPins();
      for (const [file, pins] of expected) {
        assert.deepEqual(sorted((extracted.get(file) ?? []).map(depKey)), sorted(pins), file);
      }
      for (const [file, deps] of extracted) {
        if (expected.has(file) || isProgramCode(file)) continue;
        assert.deepEqual(deps.map(depKey), [], `${file}: no version is pinned there`);
      }
    });

    it("each file that pins a version is selected by a manager", () => {
      for (const [file, pins] of expectedPins()) {
        if (pins.length > 0) assert.ok(extracted.has(file), `${file} pins ${pins}`);
      }
    });
  });

  describe("the images it covers are the images the program uses", function () {
    this.timeout(120000);
    const runs = new Map<string, Set<string>>();

    before(async () => {
      for (const [name, config] of Object.entries(DUMPED_CONFIGS)) {
        const run = await runProgram(config());
        assert.ifError(run.error);
        const images = new Set<string>();
        for (const resource of run.resources) collectImages(resource.inputs, images);
        runs.set(name, images);
      }
    });

    it("DEFAULT_IMAGES plus the images written in program code = every image of a run on defaults", () => {
      const extracted = extractAll();
      const covered = new Set<string>(DEFAULT_IMAGE_REFS);
      for (const [file, deps] of extracted) {
        if (isProgramCode(file)) for (const dep of deps) covered.add(depKey(dep));
      }
      // dev and addons-on override no image: they use exactly the defaults.
      const used = new Set([...runs.get("dev")!, ...runs.get("addons-on")!]);
      assert.ok(used.size > DEFAULT_IMAGE_REFS.length, "the readiness gate's probe image is seen");
      assert.deepEqual(sorted(covered), sorted(used));
    });

    it("every image of every run (prod's overrides included) is one renovate.json updates", () => {
      const covered = new Set([...extractAll().values()].flat().map(depKey));
      for (const [name, images] of runs) {
        for (const image of images) assert.ok(covered.has(image), `${name}: ${image}`);
      }
    });
  });

  describe("Tekton", () => {
    const tektonDeps = [...extractAll().values()]
      .flat()
      .filter((dep) => dep.datasource === "github-releases");

    it("covers the five releases the stack installs, at the schema's defaults", () => {
      const fromSchema = extractAll().get("config/schema.ts")!.map(depKey);
      assert.deepEqual(sorted(fromSchema), sorted(TEKTON_DEFAULT_KEYS));
    });

    it("groups all five into one merge request, a major release included", () => {
      const rules = RENOVATE.packageRules.filter((r: any) => r.groupName === "Tekton");
      assert.equal(rules.length, 1);
      assert.deepEqual(
        sorted(rules[0].matchPackageNames),
        sorted(new Set(tektonDeps.map((dep) => dep.depName))),
      );
      assert.deepEqual(rules[0].matchDatasources, ["github-releases"]);
      // lib/workers/repository/updates/branch-name.ts: a major update with separateMajorMinor
      // gets its own `major-` group branch.
      assert.equal(rules[0].separateMajorMinor, false);
    });
  });

  describe("npm and CI", () => {
    const ruleFor = (pkg: string) =>
      RENOVATE.packageRules.filter((r: any) => r.matchPackageNames?.includes(pkg));

    it("keeps typescript on 5.x and @types/node on the Node.js 24 line", () => {
      assert.deepEqual(
        ruleFor("typescript").map((r: any) => r.allowedVersions),
        ["<6"],
      );
      assert.deepEqual(
        ruleFor("@types/node").map((r: any) => r.allowedVersions),
        ["<25"],
      );
      const pkg = JSON.parse(read("package.json"));
      assert.match(pkg.devDependencies.typescript, /^[~^]?5\./);
    });

    it("groups the Pulumi SDKs with the CI image's Pulumi CLI", () => {
      const [rule] = RENOVATE.packageRules.filter((r: any) => r.groupName === "Pulumi");
      assert.deepEqual(rule.matchPackageNames, ["@pulumi/**", "pulumi/pulumi-nodejs-24"]);
    });

    it("leaves the CI image to Renovate's gitlabci manager", () => {
      // Renovate's lib/modules/manager/gitlabci/index.ts defaultConfig.managerFilePatterns is
      // /\.gitlab-ci\.ya?ml$/ (GITLABCI_FILE_PATTERN, copied): it selects our file by default,
      // and extract.ts reads `image` / `image.name` of every top-level key, `default` included.
      assert.ok(fs.existsSync(path.join(REPO_ROOT, ".gitlab-ci.yml")));
      assert.match(".gitlab-ci.yml", GITLABCI_FILE_PATTERN);
      assert.ok(
        !RENOVATE.gitlabci?.managerFilePatterns,
        "renovate.json leaves the gitlabci manager's file patterns at Renovate's default",
      );
      const ci = parse(read(".gitlab-ci.yml"));
      assert.match(ci.default.image.name, /^pulumi\/pulumi-nodejs-24:\d+\.\d+\.\d+$/);
      assert.equal(RENOVATE.enabledManagers, undefined, "every manager (npm, gitlabci) runs");
    });
  });

  describe("only keys Renovate knows", () => {
    // Option names from renovatebot/renovate lib/config/options/index.ts (44.x).
    const TOP_LEVEL = new Set([
      "$schema",
      "description",
      "extends",
      "packageRules",
      "customManagers",
    ]);
    const RULE = new Set([
      "description",
      "matchManagers",
      "matchPackageNames",
      "matchDatasources",
      "matchCurrentValue",
      "allowedVersions",
      "groupName",
      "separateMajorMinor",
    ]);
    const MANAGER = new Set([
      "description",
      "customType",
      "managerFilePatterns",
      "matchStrings",
      "depNameTemplate",
      "datasourceTemplate",
      "versioningTemplate",
    ]);
    const unknown = (object: object, known: Set<string>) =>
      Object.keys(object).filter((key) => !known.has(key));

    it("parses, names its schema and uses known keys at every level", () => {
      assert.equal(RENOVATE.$schema, "https://docs.renovatebot.com/renovate-schema.json");
      assert.deepEqual(unknown(RENOVATE, TOP_LEVEL), []);
      for (const rule of RENOVATE.packageRules) assert.deepEqual(unknown(rule, RULE), []);
      for (const manager of MANAGERS) assert.deepEqual(unknown(manager, MANAGER), []);
    });

    it("custom managers are regex managers Renovate can run", () => {
      for (const manager of MANAGERS) {
        assert.equal(manager.customType, "regex");
        // fileMatch was renamed managerFilePatterns in Renovate 40.2.0 (migrated with a warning).
        assert.ok(!("fileMatch" in manager));
        assert.ok(["docker", "github-releases"].includes(manager.datasourceTemplate!));
        assert.ok(["docker", "semver"].includes(manager.versioningTemplate!));
        if (manager.depNameTemplate) assert.doesNotMatch(manager.depNameTemplate, /\{\{/);
        for (const matchString of manager.matchStrings) {
          assert.match(matchString, /\(\?<currentValue>/);
          if (!manager.depNameTemplate) assert.match(matchString, /\(\?<depName>/);
          // Renovate runs them with RE2 (lib/util/regex.ts): no lookaround, no backreference.
          assert.doesNotMatch(matchString, /\(\?<?[=!]|\\[1-9]|\\k</, matchString);
        }
      }
    });
  });
});
