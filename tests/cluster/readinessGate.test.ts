// The readiness gate's manifests, and its script run for real with a stub kubectl on PATH.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runGateScript } from "../harness/gateScript";
import {
  GATE_ATTEMPTS,
  GATE_DEADLINE_SECONDS,
  GATE_INTERVAL_SECONDS,
  GATE_SCRIPT,
  PROBE_LISTENER,
  PROBE_TASK,
  READINESS_GATE_NAME,
  TEKTON_NAMESPACE,
  readinessGateManifests,
} from "../../tekton/cluster/readinessGate";

const ARGS = {
  image: "registry.k8s.io/kubectl:v1.36.4",
  versions: { pipelines: "v1.15.0", triggers: "v0.37.0" },
};

/**
 * A kubectl that, per kind, refuses the first `refuse` calls like an unreachable webhook, then
 * admits the next `bypass` calls without defaulting (the webhook's configuration has no rules
 * yet), then admits with the defaulted field; it logs every call (args, kind read from stdin) and
 * always prints a server warning on stderr.
 */
function stubKubectl(dir: string, behaviour: Record<string, { refuse?: number; bypass?: number }>) {
  const log = path.join(dir, "calls.log");
  const limits = (kind: string) => {
    const b = behaviour[kind] ?? {};
    return `refuse=${b.refuse ?? 0}; bypass=${(b.refuse ?? 0) + (b.bypass ?? 0)}`;
  };
  const script = `#!/usr/bin/env bash
input=$(cat)
kind=$(printf '%s' "$input" | sed -n 's/.*"kind":"\\([A-Za-z]*\\)".*/\\1/p')
echo "$kind $*" >> "${log}"
count_file="${dir}/count-$kind"
count=$(cat "$count_file" 2>/dev/null || echo 0)
echo $((count + 1)) > "$count_file"
case "$kind" in
  Task) ${limits("Task")}; defaulted=string ;;
  EventListener) ${limits("EventListener")}; defaulted=TriggerBinding ;;
  *) echo "unexpected input" >&2; exit 2 ;;
esac
echo "Warning: a server warning" >&2
if [ "$count" -lt "$refuse" ]; then
  echo "Error from server (InternalError): Internal error occurred: failed calling webhook \\"webhook.$kind\\": connection refused" >&2
  exit 1
fi
if [ "$count" -lt "$bypass" ]; then exit 0; fi
printf '%s' "$defaulted"
`;
  fs.writeFileSync(path.join(dir, "kubectl"), script, { mode: 0o755 });
  return () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);
}

function runGate(behaviour: Record<string, { refuse?: number; bypass?: number }>, attempts = 5) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-"));
  try {
    const calls = stubKubectl(dir, behaviour);
    const result = runGateScript(GATE_SCRIPT, readinessGateManifests(ARGS).job, dir, attempts);
    return { status: result.status, output: result.stdout + result.stderr, calls: calls() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("readiness gate", function () {
  describe("script (stub kubectl)", () => {
    it("succeeds at once when both webhooks admit, with a server-side dry-run", () => {
      const run = runGate({});
      assert.equal(run.status, 0, run.output);
      assert.match(run.output, /admit Tasks and EventListeners \(attempt 1 of 5\)/);
      assert.deepEqual(
        run.calls.map((call) => call.split(" ")[0]),
        ["Task", "EventListener"],
      );
      for (const call of run.calls) {
        assert.match(call, /create --dry-run=server --request-timeout=5s/);
        assert.match(
          call,
          /--namespace=tekton-pipelines --output=jsonpath=\{\.spec\..*\} --filename=-/,
        );
      }
    });

    it("retries while a webhook refuses, then succeeds", () => {
      const run = runGate({ Task: { refuse: 2 }, EventListener: { refuse: 1 } });
      assert.equal(run.status, 0, run.output);
      assert.match(
        run.output,
        /attempt 1 of 5: not admitted yet: Task \(Tekton Pipelines' webhook\)/,
      );
      assert.match(
        run.output,
        /attempt 3 of 5: not admitted yet: EventListener \(Tekton Triggers' webhook\).*failed calling webhook/s,
      );
      assert.match(run.output, /\(attempt 4 of 5\)/);
    });

    it("does not take an admission without the defaulting webhook for readiness", () => {
      const run = runGate({ Task: { bypass: 1 }, EventListener: { bypass: 2 } });
      assert.equal(run.status, 0, run.output);
      assert.match(
        run.output,
        /attempt 1 of 5: not admitted yet: Task .*admitted without the defaulting webhook \(\{\.spec\.params\[0\]\.type\} is "", expected "string"\)/,
      );
      assert.match(
        run.output,
        /attempt 3 of 5: not admitted yet: EventListener .*\{\.spec\.triggers\[0\]\.bindings\[0\]\.kind\} is "", expected "TriggerBinding"/,
      );
      assert.match(run.output, /\(attempt 4 of 5\)/);
      // Bounded even when the webhook is never configured.
      const never = runGate({ Task: { bypass: 1000 } }, 2);
      assert.equal(never.status, 1, never.output);
      assert.match(never.output, /after 2 attempts .*its configuration is not filled in yet/);
    });

    it("gives up after the configured attempts with the last refusal", () => {
      const run = runGate({ EventListener: { refuse: 1000 } }, 3);
      assert.equal(run.status, 1, run.output);
      assert.equal(run.calls.filter((c) => c.startsWith("EventListener")).length, 3);
      assert.match(
        run.output,
        /did not admit a server-side dry-run after 3 attempts 0 s apart\. Last refusal: EventListener .*failed calling webhook .*kubectl -n tekton-pipelines get pods,endpoints/s,
      );
    });
  });

  describe("manifests", () => {
    const { serviceAccount, role, roleBinding, job } = readinessGateManifests(ARGS);

    it("runs in Tekton's namespace with a Role that may only create Tasks and EventListeners", () => {
      for (const m of [serviceAccount, role, roleBinding, job]) {
        assert.equal(m.metadata.name, READINESS_GATE_NAME);
        assert.equal(m.metadata.namespace, TEKTON_NAMESPACE);
      }
      assert.deepEqual(role.rules, [
        { apiGroups: ["tekton.dev"], resources: ["tasks"], verbs: ["create"] },
        { apiGroups: ["triggers.tekton.dev"], resources: ["eventlisteners"], verbs: ["create"] },
      ]);
      assert.deepEqual(roleBinding.roleRef, {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: READINESS_GATE_NAME,
      });
      assert.equal(job.spec.template.spec.serviceAccountName, READINESS_GATE_NAME);
    });

    it("passes PodSecurity restricted (the namespace enforces it)", () => {
      const pod = job.spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.ok(pod.securityContext.runAsUser > 0);
      assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
      for (const container of pod.containers) {
        assert.equal(container.securityContext.allowPrivilegeEscalation, false);
        assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
        assert.ok(container.resources.limits.memory);
      }
      assert.ok(pod.volumes.every((v: any) => Object.keys(v).sort().join() === "emptyDir,name"));
    });

    it("is bounded, not retried by Kubernetes, never garbage-collected, and re-run when unready", () => {
      assert.equal(job.spec.backoffLimit, 0);
      assert.equal(job.spec.template.spec.restartPolicy, "Never");
      assert.equal((job.spec as any).ttlSecondsAfterFinished, undefined);
      assert.ok(
        GATE_DEADLINE_SECONDS > GATE_ATTEMPTS * (GATE_INTERVAL_SECONDS + 2 * 5),
        "the Job's deadline must outlast the script's worst case",
      );
      assert.equal(job.spec.activeDeadlineSeconds, GATE_DEADLINE_SECONDS);
      assert.equal(job.metadata.annotations["pulumi.com/replaceUnready"], "true");
    });

    it("is deterministic, and changes (so is replaced) only with the versions or image", () => {
      assert.deepEqual(readinessGateManifests(ARGS), readinessGateManifests(ARGS));
      const upgraded = readinessGateManifests({
        ...ARGS,
        versions: { ...ARGS.versions, triggers: "v0.38.0" },
      });
      assert.notDeepEqual(upgraded.job.spec.template, job.spec.template);
      assert.equal(job.spec.template.spec.containers[0].image, ARGS.image);
    });

    it("probes with objects each webhook validates, named by the server", () => {
      // The fields the defaulting webhooks set are left out of the probes.
      assert.equal((PROBE_TASK.spec.params[0] as any).type, undefined);
      assert.equal((PROBE_LISTENER.spec.triggers[0].bindings[0] as any).kind, undefined);
      assert.equal(PROBE_TASK.kind, "Task");
      assert.equal(PROBE_LISTENER.kind, "EventListener");
      for (const probe of [PROBE_TASK, PROBE_LISTENER]) {
        assert.equal((probe.metadata as any).name, undefined);
        assert.ok(probe.metadata.generateName);
      }
    });
  });
});
