// Where the frozen registration dumps live, and how they are written. They were recorded before
// the layout move; `scripts/freeze-registrations.ts` rewrites them, which is a
// deliberate change of the contract to be reviewed like one.
import * as path from "node:path";

export const FIXTURE_DIR = path.join(__dirname, "fixtures");

export const fixturePath = (name: string): string =>
  path.join(FIXTURE_DIR, `registrations-${name}.json`);
