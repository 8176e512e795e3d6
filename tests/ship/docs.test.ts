// The documentation as shipped: every relative link in the repository's Markdown resolves (a
// file that exists, and for `#anchor` into Markdown a heading GitHub would give that slug), the
// README stays a page for its first reader, and its short config example passes the config check.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseStackConfig } from "../../config/load";
import { parseStackFile } from "../../config/stackFile";
import { REPO_ROOT, TEST_SECRETS } from "../harness/program";

const SKIP_DIRS = new Set(["node_modules", ".git", ".cache", "rendered", "bin"]);

/** Every `*.md` under `root`, as paths relative to it, sorted. */
export function markdownFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(path.join(dir, entry.name));
      } else if (entry.isFile() && entry.name.endsWith(".md")) {
        found.push(path.relative(root, path.join(dir, entry.name)));
      }
    }
  };
  walk(root);
  return found.sort();
}

/**
 * GitHub's heading anchor: the heading's text (a link's text, not its target; inline code
 * without its backticks) lower-cased, every character but letters, digits, `_`, `-` and space
 * dropped, spaces made hyphens. A repeated slug gets `-1`, `-2`, ... (github-slugger).
 */
export function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  for (const { raw } of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw);
    if (!heading) continue;
    const base = heading[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, "")
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    slugs.add(count === 0 ? base : `${base}-${count}`);
  }
  return slugs;
}

/**
 * Lines outside fenced code blocks: `raw`, and `text` with inline code spans blanked (a link
 * there is text, not a link).
 */
function proseLines(markdown: string): { line: number; raw: string; text: string }[] {
  const lines: { line: number; raw: string; text: string }[] = [];
  let fence: string | undefined;
  markdown.split("\n").forEach((raw, index) => {
    const marker = /^\s*(```+|~~~+)/.exec(raw);
    if (marker) {
      if (fence === undefined) fence = marker[1][0];
      else if (marker[1][0] === fence) fence = undefined;
      return;
    }
    if (fence !== undefined) return;
    lines.push({ line: index + 1, raw, text: raw.replace(/(`+)(?:(?!\1).)+?\1/g, "") });
  });
  return lines;
}

/** Each relative link `[text](target)` that does not resolve, as `file:line: [text](target): why`. */
export function brokenLinks(root: string, files: string[]): string[] {
  const slugCache = new Map<string, Set<string>>();
  const slugsOf = (file: string) => {
    let slugs = slugCache.get(file);
    if (!slugs) {
      slugs = headingSlugs(fs.readFileSync(file, "utf8"));
      slugCache.set(file, slugs);
    }
    return slugs;
  };
  const broken: string[] = [];
  for (const file of files) {
    const absolute = path.join(root, file);
    for (const { line, text } of proseLines(fs.readFileSync(absolute, "utf8"))) {
      for (const match of text.matchAll(/!?\[([^\]]*)\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)) {
        const [link, , target] = match;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
        const hash = target.indexOf("#");
        const filePart = decodeURI(hash === -1 ? target : target.slice(0, hash));
        const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
        const resolved =
          filePart === "" ? absolute : path.resolve(path.dirname(absolute), filePart);
        const where = `${file}:${line}: ${link}`;
        if (path.relative(root, resolved).startsWith("..")) {
          broken.push(`${where}: points outside the repository`);
        } else if (!fs.existsSync(resolved)) {
          broken.push(`${where}: no file ${path.relative(root, resolved)}`);
        } else if (
          anchor !== undefined &&
          resolved.endsWith(".md") &&
          !slugsOf(resolved).has(anchor)
        ) {
          broken.push(`${where}: no heading #${anchor} in ${path.relative(root, resolved)}`);
        }
      }
    }
  }
  return broken;
}

const README = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");

describe("documentation", () => {
  it("every relative link in the repository's Markdown resolves, anchors included", () => {
    const files = markdownFiles(REPO_ROOT);
    for (const expected of ["README.md", "docs/configuration.md", "policy/README.md"]) {
      assert.ok(files.includes(expected), `${expected} is checked`);
    }
    assert.ok(files.includes("components/gitlab/README.md"));
    assert.ok(files.includes("examples/README.md"));
    assert.deepEqual(brokenLinks(REPO_ROOT, files), []);
  });

  it("the link check reports a missing file, a missing heading and a link leaving the repo", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "docs-links-"));
    try {
      fs.mkdirSync(path.join(root, "docs"));
      fs.writeFileSync(
        path.join(root, "docs", "page.md"),
        "# Page\n\n## Signed builds (Tekton Chains)\n\n## Merge-request previews (`.gitlab-ci.yml`)\n\n## Notes\n\n## Notes\n",
      );
      fs.writeFileSync(
        path.join(root, "README.md"),
        [
          "# Top",
          "[ok](docs/page.md#signed-builds-tekton-chains) [ok](docs/page.md#merge-request-previews-gitlab-ciyml)",
          "[ok](docs/page.md#notes-1) [ok](#top) [ok](docs/) [web](https://example.com/x.md)",
          "`[code](nowhere.md)`",
          "```",
          "[fenced](nowhere.md)",
          "```",
          "[gone](docs/missing.md)",
          "[bad anchor](docs/page.md#signed-builds)",
          "[up](../outside.md) [self](#nothing)",
        ].join("\n"),
      );
      assert.deepEqual(brokenLinks(root, markdownFiles(root)), [
        "README.md:8: [gone](docs/missing.md): no file docs/missing.md",
        "README.md:9: [bad anchor](docs/page.md#signed-builds): no heading #signed-builds in docs/page.md",
        "README.md:10: [up](../outside.md): points outside the repository",
        "README.md:10: [self](#nothing): no heading #nothing in README.md",
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("the README is a page for its first reader and links every page of docs/", () => {
    const lines = README.split("\n").length - (README.endsWith("\n") ? 1 : 0);
    assert.ok(lines <= 400, `README.md has ${lines} lines (at most 400)`);
    for (const page of fs.readdirSync(path.join(REPO_ROOT, "docs"))) {
      if (page.endsWith(".md"))
        assert.ok(README.includes(`](docs/${page}`), `README links ${page}`);
    }
    const quickStart = README.slice(README.indexOf("## Quick start"));
    assert.match(
      quickStart,
      /^## Quick start\n\n### Try it without a cluster\n\n```sh\n[^`]*npm run try/,
    );
  });

  it("the README names Node.js 24 LTS and a Pulumi CLI no older than the pinned SDK", () => {
    assert.match(README, /Node\.js\]\([^)]*\) \*\*24 LTS\*\*/);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
    const sdk: string = pkg.dependencies["@pulumi/pulumi"].replace(/^[~^]/, "");
    const cli = /Pulumi CLI\]\([^)]*\) (\d+\.\d+\.\d+) or newer/.exec(README);
    assert.ok(cli, "README says which Pulumi CLI");
    const [have, need] = [cli[1], sdk].map((v) => v.split(".").map(Number));
    const cmp = have.findIndex((part, i) => part !== need[i]);
    assert.ok(cmp === -1 || have[cmp] > need[cmp], `CLI ${cli[1]} is older than the SDK ${sdk}`);
  });

  it("the README's short config example passes the config check", () => {
    const section = README.slice(README.indexOf("## Configuration"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section);
    assert.ok(yaml, "README has a yaml example under ## Configuration");
    const config = parseStackConfig({ ...parseStackFile(yaml[1]), ...TEST_SECRETS });
    assert.deepEqual(
      config.apps.map((app) => app.name),
      ["hello-python"],
    );
  });
});
