// Rewrites the frozen registration dumps from the program as it is now (see registrations.ts).
import "../harness/mocks";
import * as fs from "node:fs";
import { runProgram } from "../harness/program";
import { DUMPED_CONFIGS, dumpRegistrations } from "../harness/registrationDump";
import { fixturePath } from "./registrations";

async function main(): Promise<void> {
  for (const [name, config] of Object.entries(DUMPED_CONFIGS)) {
    const run = await runProgram(config());
    if (run.error) throw run.error;
    fs.writeFileSync(fixturePath(name), `${JSON.stringify(dumpRegistrations(run), null, 1)}\n`);
    console.log(`${fixturePath(name)}: ${run.resources.length} resources`);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
