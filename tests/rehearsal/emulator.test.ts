// The rehearsal's Tekton emulator, the parts that need no Debian package: substitution, path
// remapping, Secret workspaces with items and credential init as Tekton v1.15.0 writes them.
// `npm run rehearse` itself (sshd, busybox, kubectl) runs in CI after `npm test`.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeCredsDir } from "./credsInit";
import { addNamed, assertResolved, remapTektonPaths, substitute } from "./substitution";
import { taskRunObject } from "./taskRuns";
import { materialise } from "./workspaces";
import { startFakeKubeApi } from "../harness/fakeKubeApi";

describe("rehearsal emulator", () => {
  it("substitutes every spelling of a param and leaves shell command substitutions alone", () => {
    const replacements = {};
    addNamed(replacements, "params", { "image-url": "r/x:1" });
    const text = `A=$(params.image-url) B=$(params["image-url"]) C=$(params['image-url']) D="$(mktemp)"`;
    assert.equal(substitute(text, replacements), `A=r/x:1 B=r/x:1 C=r/x:1 D="$(mktemp)"`);
  });

  it("refuses a Tekton reference nothing resolved", () => {
    assert.throws(() => assertResolved("x $(params.missing) y", "step"), /params\.missing/);
    assert.doesNotThrow(() => assertResolved('x "$(git rev-parse HEAD)"', "step"));
  });

  it("remaps Tekton's fixed paths but not lookalikes", () => {
    assert.equal(
      remapTektonPaths('HOME=/tekton/home > "/tekton/results/x" /a/tekton/b', "/tmp/t"),
      'HOME=/tmp/t/home > "/tmp/t/results/x" /a/tekton/b',
    );
  });

  it("writes a Secret workspace's items only, each at its path", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-ws-"));
    try {
      const secret = { stringData: { ".dockerconfigjson": "{}", other: "x" } };
      const at = materialise(
        {
          name: "docker-config",
          secret: { secretName: "reg", items: [{ key: ".dockerconfigjson", path: "config.json" }] },
        },
        { secrets: { reg: secret }, configMaps: {} },
        { claims: {} },
        dir,
        dir,
        undefined,
      );
      assert.deepEqual(fs.readdirSync(at), ["config.json"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("credential init writes nothing for a ServiceAccount listing no Secrets", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-creds-"));
    try {
      assert.equal(writeCredsDir({ secrets: [] }, {}, path.join(dir, "creds")), false);
      assert.equal(fs.existsSync(path.join(dir, "creds")), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("credential init writes an annotated ssh-auth Secret as .ssh/id_<secret>, config and known_hosts", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-creds-"));
    try {
      const secrets = {
        "git-pull": {
          type: "kubernetes.io/ssh-auth",
          metadata: { annotations: { "tekton.dev/git-0": "gitlab.example:2222" } },
          stringData: {
            "ssh-privatekey": "KEY",
            known_hosts: "[gitlab.example]:2222 ssh-ed25519 AAAA",
          },
        },
        registry: {
          type: "kubernetes.io/dockerconfigjson",
          stringData: {
            ".dockerconfigjson": JSON.stringify({ auths: { "r.example": { auth: "eA==" } } }),
          },
        },
      };
      const creds = path.join(dir, "creds");
      assert.equal(
        writeCredsDir({ secrets: [{ name: "git-pull" }, { name: "registry" }] }, secrets, creds),
        true,
      );
      assert.equal(fs.readFileSync(path.join(creds, ".ssh", "id_git-pull"), "utf8"), "KEY");
      assert.equal(
        fs.readFileSync(path.join(creds, ".ssh", "config"), "utf8"),
        `Host gitlab.example\n    HostName gitlab.example\n    Port 2222\n    IdentityFile ${path.join(creds, ".ssh", "id_git-pull")}\n`,
      );
      assert.equal(
        JSON.parse(fs.readFileSync(path.join(creds, ".docker", "config.json"), "utf8")).auths[
          "r.example"
        ].auth,
        "eA==",
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports a TaskRun in Tekton v1.15.0's shape: labels, Succeeded condition, step states", () => {
    const run = { metadata: { name: "run-1", namespace: "ns", labels: { app: "x" } } };
    const object = taskRunObject(run, {
      pipelineTask: "build-merge-request",
      name: "run-1-build-merge-request",
      succeeded: false,
      results: {},
      completionTime: "2026-11-30T01:02:03.000Z",
      steps: [{ name: "build", kind: "kaniko", exitCode: 1, log: "", sees: [] }],
    });
    assert.deepEqual(object.metadata.labels, {
      app: "x",
      "tekton.dev/pipelineRun": "run-1",
      "tekton.dev/pipelineTask": "build-merge-request",
    });
    assert.deepEqual(object.status.conditions[0], {
      type: "Succeeded",
      status: "False",
      reason: "Failed",
      message: "",
    });
    assert.deepEqual(object.status.steps, [
      {
        name: "build",
        container: "step-build",
        terminated: { exitCode: 1, reason: "Error" },
        terminationReason: "Error",
      },
    ]);
  });

  it("the fake API lists TaskRuns by label and refuses what `authorize` does not grant", async () => {
    const api = await startFakeKubeApi(["ns"]);
    try {
      api.taskRuns.get("ns")!.set("a", { metadata: { name: "a", labels: { run: "1" } } });
      api.taskRuns.get("ns")!.set("b", { metadata: { name: "b", labels: { run: "2" } } });
      api.authorize = (token, verb, resource) =>
        token === "reader" && resource === "taskruns" && ["get", "list"].includes(verb);
      const get = async (what: string, token: string) => {
        const response = await fetch(`${api.url}/apis/tekton.dev/v1/namespaces/ns/${what}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        return { code: response.status, body: await response.json() };
      };
      const listed = await get("taskruns?labelSelector=run%3D1", "reader");
      assert.equal(listed.code, 200);
      assert.deepEqual(
        listed.body.items.map((i: any) => i.metadata.name),
        ["a"],
      );
      assert.equal((await get("pipelineruns", "reader")).code, 403);
      assert.equal((await get("taskruns", "someone-else")).code, 403);
    } finally {
      await api.close();
    }
  });
});
