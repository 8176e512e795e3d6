// The pruner's readiness gate: its manifests, and its script run for real with a stub kubectl.
import "../harness/mocks";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runGateScript } from "../harness/gateScript";
import {
  PRUNER_GATE_NAME,
  PRUNER_GATE_SCRIPT,
  PRUNER_PROBE,
  PRUNER_PROBE_REFUSAL,
  prunerGateManifests,
} from "../../tekton/cluster/prunerGate";
import { exampleConfig, runProgram } from "../harness/program";
import { findResource, resourcesOfType } from "../harness/registered";

const ARGS = { image: "registry.k8s.io/kubectl:v1.36.4", prunerVersion: "v0.4.1" };

/**
 * A kubectl that answers in turn with each of `answers`: "unreachable" (failed calling webhook),
 * "admitted" (no webhook called), "refused" (the pruner webhook's refusal of the probe), and
 * repeats the last one. Logs every call with the ConfigMap it read from stdin.
 */
function runGate(answers: string[], attempts = 5) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pruner-gate-"));
  try {
    const log = path.join(dir, "calls.log");
    const script = `#!/usr/bin/env bash
input=$(cat)
echo "$* $input" >> "${log}"
answers=(${answers.join(" ")})
count=$(cat "${dir}/count" 2>/dev/null || echo 0)
echo $((count + 1)) > "${dir}/count"
index=$(( count < \${#answers[@]} ? count : \${#answers[@]} - 1 ))
case "\${answers[$index]}" in
  unreachable) echo 'Error from server (InternalError): error when creating "STDIN": Internal error occurred: failed calling webhook "validation.webhook.pruner.tekton.dev.namespace": no endpoints available for service "tekton-pruner-webhook"' >&2; exit 1 ;;
  admitted) echo "configmap/tekton-pruner-namespace-spec created (server dry run)"; exit 0 ;;
  refused) echo 'Error from server (Invalid): error when creating "STDIN": admission webhook "validation.webhook.pruner.tekton.dev.namespace" denied the request: Invalid pruner ConfigMap configuration: ${PRUNER_PROBE_REFUSAL}' >&2; exit 1 ;;
esac
`;
    fs.writeFileSync(path.join(dir, "kubectl"), script, { mode: 0o755 });
    const result = runGateScript(PRUNER_GATE_SCRIPT, prunerGateManifests(ARGS).job, dir, attempts);
    const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
    return { status: result.status, stdout: result.stdout, calls };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("pruner readiness gate", function () {
  describe("script (stub kubectl)", () => {
    it("succeeds once the pruner's webhook refuses the probe with its own reason", () => {
      const run = runGate(["refused"]);
      assert.equal(run.status, 0, run.stdout);
      assert.equal(run.calls.length, 1);
      assert.match(run.calls[0], /^create --dry-run=server .*--namespace=tekton-pipelines/);
      assert.ok(run.calls[0].includes('"pruner.tekton.dev/config-type":"namespace"'));
    });

    it("retries while the webhook is unreachable or not called at all", () => {
      const run = runGate(["unreachable", "admitted", "unreachable", "refused"]);
      assert.equal(run.status, 0, run.stdout);
      assert.equal(run.calls.length, 4);
      assert.match(run.stdout, /not in effect yet/);
      assert.match(run.stdout, /no endpoints available/);
    });

    it("gives up after the configured attempts with the last answer", () => {
      const run = runGate(["admitted"], 3);
      assert.equal(run.status, 1);
      assert.equal(run.calls.length, 3);
      assert.match(run.stdout, /did not answer .* after 3 attempts.*not in effect yet/s);
    });
  });

  describe("manifests", () => {
    it("may only create ConfigMaps in tekton-pipelines and passes PodSecurity restricted", () => {
      const gate = prunerGateManifests(ARGS);
      assert.equal(gate.role.metadata.namespace, "tekton-pipelines");
      assert.deepEqual(gate.role.rules, [
        { apiGroups: [""], resources: ["configmaps"], verbs: ["create"] },
      ]);
      const pod = gate.job.spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
      const container = pod.containers[0];
      assert.deepEqual(container.securityContext.capabilities, { drop: ["ALL"] });
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(container.image, ARGS.image);
      assert.equal(gate.job.spec.backoffLimit, 0);
      assert.equal(gate.job.metadata.annotations["pulumi.com/replaceUnready"], "true");
      // An upgrade changes the pod template: the Job is replaced and runs again.
      assert.notDeepEqual(
        prunerGateManifests({ ...ARGS, prunerVersion: "v0.5.0" }).job.spec.template,
        gate.job.spec.template,
      );
      // The probe is the kind of object the webhook selects (labels), named as a namespace config.
      assert.equal(PRUNER_PROBE.metadata.labels["app.kubernetes.io/part-of"], "tekton-pruner");
    });

    it("runs after the pruner release; every namespace pruner config waits for it", async () => {
      const run = await runProgram(exampleConfig());
      assert.ifError(run.error);
      const job = findResource(run, "kubernetes:batch/v1:Job", "tekton-pruner-ready");
      assert.equal(job.inputs.metadata.name, PRUNER_GATE_NAME);
      const release = findResource(run, "kubernetes:yaml/v2:ConfigFile", "tekton-pruner");
      assert.ok(job.dependencies.includes(release.urn));
      assert.equal(job.deleteBeforeReplace, true);
      const configMaps = resourcesOfType(run, "kubernetes:core/v1:ConfigMap").filter(
        (c) => c.inputs.metadata.name === "tekton-pruner-namespace-spec",
      );
      assert.equal(configMaps.length, 1);
      for (const configMap of configMaps) assert.ok(configMap.dependencies.includes(job.urn));
    });
  });
});
