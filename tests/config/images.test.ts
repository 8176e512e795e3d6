// The default step images: only tags confirmed published, and the docs' one list of them
// (docs/configuration.md, section "Step images", moved there from the README) says exactly what
// config/images.ts uses.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_IMAGES } from "../../config/images";

const DOC = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "configuration.md"), "utf8");

/** `images.<key>` -> image, from the "Step images" table of docs/configuration.md. */
function readmeImages(): Record<string, string> {
  const section = DOC.split(/^## /m).find((s) => s.startsWith("Step images"));
  assert.ok(section, "docs/configuration.md has a '## Step images' section");
  const rows: Record<string, string> = {};
  for (const match of section.matchAll(/^\| `images\.(\w+)` \| `([^`]+)` \|/gm)) {
    rows[match[1]] = match[2];
  }
  return rows;
}

describe("default step images", () => {
  it("are listed in one place in the README, exactly as config/images.ts has them", () => {
    assert.deepEqual(readmeImages(), { ...DEFAULT_IMAGES });
  });

  it("default only to confirmed releases (Kaniko v1.28.3, kubectl v1.36.0)", () => {
    // osscontainertools/kaniko: newest tag v1.28.3 (CHANGELOG "v1.28.3 Release 2026-08-13");
    // there is no v1.28.5 tag. kubernetes CHANGELOG-1.36.md lists registry.k8s.io/kubectl:v1.36.0.
    assert.equal(DEFAULT_IMAGES.kaniko, "ghcr.io/osscontainertools/kaniko:v1.28.3");
    assert.equal(DEFAULT_IMAGES.kubectl, "registry.k8s.io/kubectl:v1.36.0");
  });
});
