// A simulated delivery: GitLab's push payload goes through the TriggerBinding's $(body.*) paths
// and the TriggerTemplate's $(tt.params.*) substitution the way Triggers does it, giving the
// PipelineRun the EventListener would create.
import * as assert from "node:assert/strict";
import { sshCloneUrl } from "../../tekton/names";
import { pushFilter, RUN_METADATA, triggerObjects } from "../../tekton/triggers";
import {
  EventListener,
  PipelineRunTemplate,
  TriggerBinding,
  TriggerTemplate,
} from "../../tekton/triggerTypes";
import { exampleApp, pushPayload } from "./helpers";

/** Resolves one `$(body.a.b)` binding value against the payload (objects become JSON). */
function resolveBodyPath(expression: string, body: any): string {
  const match = /^\$\(body\.([A-Za-z0-9_.]+)\)$/.exec(expression);
  assert.ok(match, `unsupported binding expression ${expression}`);
  let value = body;
  for (const key of match[1].split(".")) {
    assert.ok(value !== null && typeof value === "object" && key in value, `no ${match[1]}`);
    value = value[key];
  }
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The CEL interceptor's overlays (`$(extensions.*)`), for the one expression form the listener
 * uses: `body.<path>.truncate(<n>)`.
 */
function overlays(listener: EventListener, body: any): Record<string, string> {
  const cel = listener.spec.triggers[0].interceptors.find((i) => i.ref.name === "cel");
  const param = cel?.params.find((p) => p.name === "overlays");
  const list = (param?.value ?? []) as { key: string; expression: string }[];
  return Object.fromEntries(
    list.map(({ key, expression }) => {
      const match = /^body\.([A-Za-z0-9_.]+)\.truncate\((\d+)\)$/.exec(expression);
      assert.ok(match, `unsupported overlay ${expression}`);
      return [key, resolveBodyPath(`$(body.${match[1]})`, body).slice(0, Number(match[2]))];
    }),
  );
}

function bind(binding: TriggerBinding, listener: EventListener, body: any): Record<string, string> {
  const extensions = overlays(listener, body);
  return Object.fromEntries(
    binding.spec.params.map((param) => {
      const extension = /^\$\(extensions\.([A-Za-z0-9_]+)\)$/.exec(param.value);
      if (!extension) return [param.name, resolveBodyPath(param.value, body)];
      assert.ok(extension[1] in extensions, `no overlay ${extension[1]}`);
      return [param.name, extensions[extension[1]]];
    }),
  );
}

/** Triggers replaces `$(tt.params.x)` in the template's JSON bytes, without escaping. */
function instantiate(template: TriggerTemplate, params: Record<string, string>) {
  const missing = template.spec.params.filter((p) => !(p.name in params) && !p.default);
  assert.deepEqual(missing, [], "template params the binding does not provide");
  let json = JSON.stringify(template.spec.resourcetemplates);
  for (const spec of template.spec.params) {
    json = json.split(`$(tt.params.${spec.name})`).join(params[spec.name] ?? spec.default ?? "");
  }
  assert.doesNotMatch(json, /\$\(tt\.params\./, "unresolved template param");
  return JSON.parse(json) as PipelineRunTemplate[];
}

function deliver(body: any, edit?: (app: any) => any) {
  const { app, ctx } = exampleApp(edit);
  const objects = triggerObjects(app, ctx);
  const [run] = instantiate(objects.template, bind(objects.binding, objects.listener, body));
  return { app, ctx, run, param: (name: string) => run.spec.params.find((p) => p.name === name) };
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe("Simulated GitLab push delivery", function () {
  it("uses a documented push payload the listener's filter admits", () => {
    const body = pushPayload();
    const { app } = exampleApp();
    assert.equal(body.object_kind, "push");
    assert.equal(body.ref, `refs/heads/${app.branch}`);
    assert.equal(body.project.path_with_namespace, app.sourceProject);
    // The CEL filter's branch literal and SHA pattern, applied to the fixture.
    const filter = pushFilter(app.branch);
    assert.ok(filter.startsWith(`body.ref == '${body.ref}' && `), filter);
    const shaPattern = /matches\('([^']+)'\)/.exec(filter)![1];
    assert.match(body.checkout_sha, new RegExp(shaPattern));
  });

  it("creates a PipelineRun that builds exactly the pushed commit", () => {
    const body = pushPayload();
    const { run, param } = deliver(body);
    assert.equal(run.kind, "PipelineRun");
    assert.equal(run.spec.pipelineRef.name, "build-hello-python");
    assert.equal(param("revision")?.value, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    assert.equal(param("revision")?.value, body.checkout_sha);
    assert.equal(run.metadata.labels[RUN_METADATA.commitLabel], body.checkout_sha);
  });

  it("follows the payload's SHA, not a fixed value", () => {
    const body = { ...pushPayload(), checkout_sha: "0123456789abcdef0123456789abcdef01234567" };
    const { param, run } = deliver(body);
    assert.equal(param("revision")?.value, "0123456789abcdef0123456789abcdef01234567");
    assert.equal(
      run.metadata.labels[RUN_METADATA.commitLabel],
      "0123456789abcdef0123456789abcdef01234567",
    );
  });

  it("clones the configured URLs, never the payload's", () => {
    const body = pushPayload();
    body.project.git_ssh_url = "git@attacker.example:evil/repo.git";
    body.repository.git_ssh_url = "git@attacker.example:evil/repo.git";
    body.repository.url = "git@attacker.example:evil/repo.git";
    const { ctx, param, run } = deliver(body);
    assert.equal(param("source-url")?.value, sshCloneUrl(ctx.gitSsh, "root/hello-python"));
    assert.equal(
      param("operations-url")?.value,
      sshCloneUrl(ctx.gitSsh, "root/hello-python-operations"),
    );
    assert.doesNotMatch(JSON.stringify(run), /attacker|gitlab\.apps\.192-168-2-114/);
    assert.notEqual(param("source-url")?.value, pushPayload().project.git_ssh_url);
  });

  it("records the event's ref and project and labels the run validly", () => {
    const { run } = deliver(pushPayload(), (a) => ({ ...a, branch: "main" }));
    assert.equal(run.metadata.annotations[RUN_METADATA.refAnnotation], "refs/heads/main");
    assert.equal(run.metadata.annotations[RUN_METADATA.projectAnnotation], "root/hello-python");
    assert.equal(run.metadata.generateName, "build-hello-python-");
    for (const [key, value] of Object.entries(run.metadata.labels)) {
      assert.match(value, LABEL_VALUE, key);
      assert.ok(value.length <= 63, key);
    }
  });

  it("builds a SHA-256 commit whole and labels it with its first 40 characters", () => {
    const body = pushPayload();
    body.checkout_sha = body.after = "0123456789abcdef".repeat(4);
    const { run, param } = deliver(body);
    assert.equal(param("revision")?.value, body.checkout_sha);
    assert.equal(run.metadata.labels[RUN_METADATA.commitLabel], body.checkout_sha.slice(0, 40));
    assert.match(run.metadata.labels[RUN_METADATA.commitLabel], LABEL_VALUE);
  });

  it("keeps a pushed ref with a slash valid in labels (branch from config)", () => {
    const body = { ...pushPayload(), ref: "refs/heads/release/2.0" };
    const { run } = deliver(body, (a) => ({ ...a, branch: "release/2.0" }));
    assert.equal(run.metadata.labels[RUN_METADATA.branchLabel], "release-2.0");
    assert.equal(run.metadata.annotations[RUN_METADATA.refAnnotation], "refs/heads/release/2.0");
    for (const value of Object.values(run.metadata.labels)) assert.match(value, LABEL_VALUE);
  });
});
