// A throwaway CA and a server certificate for 127.0.0.1, made with openssl at test time, for
// fakes that serve HTTPS (GitLab behind a private CA). No key is kept in the repository.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { requireTool } from "./tools";

/**
 * Makes a new directory (under the system temp directory, name starting with `prefix`) holding
 * `ca.pem` (the CA to trust), `srv.key` and `srv.pem` (the server's key and certificate, signed
 * by that CA, for IP 127.0.0.1), all valid for one day. The caller removes the directory.
 */
export function makeTestCa(prefix: string): string {
  requireTool("openssl");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  run(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=test CA",
  );
  run("req", ...ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1");
  fs.writeFileSync(path.join(dir, "ext"), "subjectAltName=IP:127.0.0.1\n");
  run(
    "x509",
    "-req",
    "-in",
    "srv.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "srv.pem",
    "-days",
    "1",
    "-extfile",
    "ext",
  );
  return dir;
}

/** The server key and certificate of a `makeTestCa` directory, as an HTTPS server takes them. */
export function serverTls(dir: string): { key: string; cert: string } {
  return {
    key: fs.readFileSync(path.join(dir, "srv.key"), "utf8"),
    cert: fs.readFileSync(path.join(dir, "srv.pem"), "utf8"),
  };
}

/** Removes a `makeTestCa` directory, if one was made. */
export function removeTestCa(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
