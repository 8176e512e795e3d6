// `npx ts-node --transpile-only scripts/freeze-registrations.ts`: rewrites the frozen registration
// dumps (tests/contract/fixtures) from the program as it is now. That is a deliberate change of
// the contract every deployed stack relies on: review the fixture diff like one.
import "../tests/harness/mocks";
import * as fs from "node:fs";
import * as prettier from "prettier";
import { runProgram } from "../tests/harness/program";
import { DUMPED_CONFIGS, dumpRegistrations } from "../tests/harness/registrationDump";
import { fixturePath } from "../tests/contract/registrations";

async function main(): Promise<void> {
  for (const [name, config] of Object.entries(DUMPED_CONFIGS)) {
    const run = await runProgram(config());
    if (run.error) throw run.error;
    const file = fixturePath(name);
    const text = await prettier.format(JSON.stringify(dumpRegistrations(run)), { filepath: file });
    fs.writeFileSync(file, text);
    console.log(`${file}: ${run.resources.length} resources`);
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
