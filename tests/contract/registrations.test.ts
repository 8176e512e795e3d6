// The registered objects are the contract with every deployed stack: a refactor must register
// the same URNs, types, parents, dependencies, options and inputs. The fixtures were recorded
// before the layout move (scripts/freeze-registrations.ts). The only deliberate difference is the component type
// tokens made uniform (`tekton-gitlab:<feature folder>:<Class>`): the fixtures' URNs are
// translated through RENAMED_TYPES, and the engine's alias lookup is replayed to show that an
// existing stack finds every old resource under its new URN (no replacement).
import "../harness/mocks";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { RegisteredResource } from "../harness/mocks";
import { runProgram } from "../harness/program";
import { DUMPED_CONFIGS, DumpedResource, dumpRegistrations } from "../harness/registrationDump";
import { fixturePath } from "./registrations";

/** Component type tokens renamed on purpose: old -> new. */
const RENAMED_TYPES: Record<string, string> = {
  "tekton-gitlab:tekton:TektonInstall": "tekton-gitlab:cluster:TektonInstall",
  "tekton-gitlab:tekton:ChainsInstall": "tekton-gitlab:cluster:ChainsInstall",
  "tekton-gitlab:tekton:SharedListener": "tekton-gitlab:listener:SharedListener",
  "tekton-gitlab:tekton:ListenerClusterRole": "tekton-gitlab:listener:ListenerClusterRole",
  "tekton-gitlab:tekton:BuildPipeline": "tekton-gitlab:app:BuildPipeline",
  "tekton-gitlab:tekton:GitLabTrigger": "tekton-gitlab:app:GitLabTrigger",
  "tekton-gitlab:tekton:SupersededRuns": "tekton-gitlab:app:SupersededRuns",
};

const renameType = (type: string) => RENAMED_TYPES[type] ?? type;

function renamed(old: DumpedResource): DumpedResource {
  return {
    ...old,
    urn: renameUrn(old.urn),
    type: renameType(old.type),
    parent: old.parent === "" ? "" : renameUrn(old.parent),
    dependencies: old.dependencies.map(renameUrn).sort(),
  };
}

const urnParts = (urn: string) => {
  const [prefix, project, qualifiedType, ...name] = urn.split("::");
  return {
    stack: prefix.replace(/^urn:pulumi:/, ""),
    project,
    qualifiedType,
    name: name.join("::"),
  };
};
const makeUrn = (stack: string, project: string, qualifiedType: string, name: string) =>
  `urn:pulumi:${stack}::${project}::${qualifiedType}::${name}`;
/** The URN with every type of its qualified-type chain renamed. */
const renameUrn = (urn: string): string => {
  const { stack, project, qualifiedType, name } = urnParts(urn);
  return makeUrn(stack, project, qualifiedType.split("$").map(renameType).join("$"), name);
};
/**
 * A child's qualified type. The engine (resource.NewURN) writes the parent's whole chain before
 * `$<type>`; the mocks, whose URNs the fixtures hold, write only the parent's own type
 * (@pulumi/pulumi runtime/mocks.js `newUrn`). The lookup below is the same under either rule;
 * it follows the mocks' so that its URNs compare with the fixtures'.
 */
/** A URN's own type: the last of its qualified-type chain. */
const ownType = (urn: string) => urnParts(urn).qualifiedType.split("$").pop()!;
const childType = (parentUrn: string, type: string) =>
  parentUrn === "" || ownType(parentUrn) === "pulumi:pulumi:Stack"
    ? type
    : `${ownType(parentUrn)}$${type}`;

/**
 * Which old URN each registered resource takes over, as the engine decides on `pulumi up`
 * (pulumi pkg/resource/deploy/step_generator.go `getOldResource`: the URN first, then the
 * aliases of `generateAliases`: each alias spec collapsed (`collapseAliasToUrn`, where an unset
 * name/type/parent means the resource's own, and the parent's matched alias stands for it), then
 * the parent's matched alias applied to the child (`inheritedChildAlias`)). `sg.aliases`
 * remembers the alias each resource matched, for its children.
 */
function replayAliasLookup(
  resources: RegisteredResource[],
  olds: Set<string>,
): Map<string, string> {
  const matchedAlias = new Map<string, string>();
  const takes = new Map<string, string>();
  for (const r of resources) {
    const { stack, project, name } = urnParts(r.urn);
    const collapse = (spec: any): string => {
      if (spec.urn) return spec.urn;
      const s = spec.spec ?? spec;
      let parent = s.parenturn || r.parent;
      if (s.parenturn && matchedAlias.has(parent)) parent = matchedAlias.get(parent)!;
      if (s.noparent) parent = "";
      return makeUrn(
        s.stack || stack,
        s.project || project,
        childType(parent, s.type || r.type),
        s.name || name,
      );
    };
    const aliasUrns = r.aliases.map(collapse);
    const candidates = [r.urn, ...aliasUrns];
    const parentAlias = matchedAlias.get(r.parent);
    if (parentAlias !== undefined) {
      const inherit = (type: string, childName: string) => {
        const parentName = urnParts(r.parent).name;
        const aliasName = childName.startsWith(parentName)
          ? urnParts(parentAlias).name + childName.slice(parentName.length)
          : childName;
        return makeUrn(stack, project, childType(parentAlias, type), aliasName);
      };
      candidates.push(inherit(r.type, name));
      for (const alias of aliasUrns) candidates.push(inherit(ownType(alias), urnParts(alias).name));
    }
    const found = candidates.find((urn) => olds.has(urn));
    if (found !== undefined) {
      takes.set(r.urn, found);
      if (found !== r.urn) matchedAlias.set(r.urn, found);
    }
  }
  return takes;
}

describe("registered resources match the frozen contract", function () {
  this.timeout(60000);
  for (const [name, config] of Object.entries(DUMPED_CONFIGS)) {
    it(`${name}: every URN, type, parent, dependency, option and input`, async () => {
      const frozen: DumpedResource[] = JSON.parse(fs.readFileSync(fixturePath(name), "utf8"));
      const run = await runProgram(config());
      assert.ifError(run.error);
      const now = dumpRegistrations(run);
      const expected = frozen.map(renamed);
      assert.deepEqual(
        now.map((r) => r.urn).sort(),
        expected.map((r) => r.urn).sort(),
        "the same URNs (component types renamed as RENAMED_TYPES says)",
      );
      const byUrn = new Map(now.map((r) => [r.urn, r]));
      for (const old of expected) assert.deepEqual(byUrn.get(old.urn), old, old.urn);
    });

    it(`${name}: an existing stack finds every old resource through the aliases`, async () => {
      const frozen: DumpedResource[] = JSON.parse(fs.readFileSync(fixturePath(name), "utf8"));
      const run = await runProgram(config());
      assert.ifError(run.error);
      const olds = new Set(frozen.map((r) => r.urn));
      const takes = replayAliasLookup(run.resources, olds);
      const orphans = run.resources.filter((r) => !takes.has(r.urn)).map((r) => r.urn);
      assert.deepEqual(orphans, [], "registered resources that would be created anew");
      const taken = [...takes.values()];
      assert.equal(new Set(taken).size, taken.length, "an old resource claimed twice");
      assert.deepEqual(taken.sort(), [...olds].sort(), "old resources nobody takes over");
      // Each renamed component carries exactly its old type; nothing else an alias of ours
      // (@pulumi/kubernetes adds API-version aliases of its own to some kinds).
      for (const r of run.resources) {
        const previous = Object.keys(RENAMED_TYPES).find((old) => RENAMED_TYPES[old] === r.type);
        const ours = r.aliases
          .map((a: any) => (a.spec ?? a).type)
          .filter((type: string) => type.startsWith("tekton-gitlab:"));
        assert.deepEqual(ours, previous === undefined ? [] : [previous], r.urn);
      }
    });
  }
});
