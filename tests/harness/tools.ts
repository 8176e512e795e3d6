// Real tools some tests run (curl, openssl, busybox, kubectl, jq...). A missing one fails the test
// with what to install: a skipped test would pass in CI without having checked anything.
// `npm test` starts with scripts/preflight.sh, which installs them (as root) or names them.
import { execFileSync } from "node:child_process";

/** The tool's path; throws, naming the Debian package, when it is not installed. */
export function requireTool(command: string, debianPackage = command): string {
  try {
    return execFileSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(
      `this test runs the real ${command}, which is not installed: apt-get install ${debianPackage} (scripts/preflight.sh, the first step of npm test, installs it as root)`,
    );
  }
}
