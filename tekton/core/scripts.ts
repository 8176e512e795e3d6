// Step scripts live in `.sh` files beside their builders (shellcheck and `sh -n` read them as
// they are, see tests/core/scripts.test.ts); the builders read them once, at module load.
//
// A Tekton step runs exactly one script, so a line sourcing a sibling file,
//   . "$(dirname "$0")/NAME.sh"
// is replaced by that file's text (the same line also runs the file as it stands, from a
// checkout). NAME may be a path relative to the script's folder (`../../build/scripts/x.sh`), so
// a feature folder can share another folder's fragment instead of copying it. A sourced file (a fragment) begins with a header for readers, comment lines ending
// in its `# shellcheck shell=...` directive, which is left out of the step.
import * as fs from "node:fs";
import * as path from "node:path";

const SOURCE_LINE =
  /^\. "\$\(dirname "\$0"\)\/((?:\.\.\/)*(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9._-]+\.sh)"\n/gm;
const FRAGMENT_HEADER = /^(?:#.*\n)*?# shellcheck shell=(?:sh|bash)\n/;

export interface ReadScriptOptions {
  /** Fragments whose source line is dropped instead of inlined (a step that needs no such lines). */
  omit?: string[];
}

/** The step script `name` in `dir` with every sourced fragment inlined. */
export function readScript(dir: string, name: string, options: ReadScriptOptions = {}): string {
  return inline(dir, name, options, []);
}

function inline(dir: string, name: string, options: ReadScriptOptions, seen: string[]): string {
  const file = path.join(dir, name);
  if (seen.includes(file)) {
    throw new Error(`${[...seen, file].map((f) => path.basename(f)).join(" sources ")}: a loop`);
  }
  const text = fs.readFileSync(file, "utf8");
  if (!text.endsWith("\n")) throw new Error(`${file}: the last line has no newline`);
  // A fragment's own source lines are relative to the fragment's folder, as when it runs.
  const folder = path.dirname(file);
  return text.replace(SOURCE_LINE, (_, fragment: string) => {
    if (options.omit?.includes(fragment)) return "";
    const body = inline(folder, fragment, options, [...seen, file]);
    const header = FRAGMENT_HEADER.exec(body);
    if (!header) {
      throw new Error(
        `${path.join(dir, fragment)}: a sourced file starts with comment lines ending in "# shellcheck shell=sh" (or bash)`,
      );
    }
    return body.slice(header[0].length);
  });
}
