// The registered objects are the contract with every deployed stack: a refactor must register
// the same URNs, types, parents, dependencies, options and inputs. The fixtures were recorded
// before the layout move (freeze.ts).
import "../harness/mocks";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { runProgram } from "../harness/program";
import { DUMPED_CONFIGS, DumpedResource, dumpRegistrations } from "../harness/registrationDump";
import { fixturePath } from "./registrations";

describe("registered resources match the frozen contract", function () {
  this.timeout(60000);
  for (const [name, config] of Object.entries(DUMPED_CONFIGS)) {
    it(`${name}: every URN, type, parent, dependency, option and input`, async () => {
      const frozen: DumpedResource[] = JSON.parse(fs.readFileSync(fixturePath(name), "utf8"));
      const run = await runProgram(config());
      assert.ifError(run.error);
      const now = dumpRegistrations(run);
      assert.deepEqual(
        now.map((r) => r.urn).sort(),
        frozen.map((r) => r.urn).sort(),
        "the same URNs",
      );
      const byUrn = new Map(now.map((r) => [r.urn, r]));
      for (const old of frozen) assert.deepEqual(byUrn.get(old.urn), old, old.urn);
    });
  }
});
