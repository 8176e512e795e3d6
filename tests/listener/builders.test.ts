import * as assert from "node:assert/strict";
import { BRANCH_HASH_LABEL, branchHash } from "../../tekton/cancel/cancelTask";
import {
  GIT_PULL_SECRET,
  GIT_WRITE_SECRET,
  REGISTRY_CA_CONFIGMAP,
  REGISTRY_SECRET,
} from "../../tekton/core/names";
import {
  celStringLiteral,
  EVENT_LISTENER_PORT,
  labelValue,
  LISTENER_CLUSTER_ROLE,
  LISTENER_LABEL,
  listenerClusterRole,
  listenerNames,
  listenerObjects,
  pushFilter,
  triggerManifests,
  triggerNames,
  triggerObjects,
  sharedEventListener,
  webhookIngress,
  webhookUrl,
} from "../../tekton/listener/triggers";
import { RUN_METADATA } from "../../tekton/core/names";
import { exampleApp, exampleStack } from "./helpers";

/**
 * Reads the CEL single-quoted literal starting at `start`: its decoded value and where it ends.
 * Independent of the builder's escaper, so a missing escape shows as a wrong value or suffix.
 */
function readCelLiteral(text: string, start: number): { value: string; end: number } {
  assert.equal(text[start], "'", `expected a literal at ${start} in ${text}`);
  let value = "";
  for (let i = start + 1; i < text.length; i++) {
    const char = text[i];
    if (char === "'") return { value, end: i + 1 };
    if (char !== "\\") {
      value += char;
      continue;
    }
    const next = text[++i];
    if (next === "u" || next === "U") {
      const width = next === "u" ? 4 : 8;
      value += String.fromCodePoint(parseInt(text.slice(i + 1, i + 1 + width), 16));
      i += width;
    } else if (next === "\\" || next === "'" || next === '"') {
      value += next;
    } else {
      assert.fail(`unexpected escape \\${next} in ${text}`);
    }
  }
  assert.fail(`unterminated literal in ${text}`);
}

const FILTER_TAIL =
  " && type(body.checkout_sha) == string" +
  " && body.checkout_sha.matches('^([0-9a-f]{40}|[0-9a-f]{64})$')";

describe("Trigger builders", function () {
  const { app, ctx } = exampleApp();
  const objects = triggerObjects(app, ctx);
  const names = triggerNames(app);

  describe("TriggerBinding", function () {
    it("binds the pushed commit, ref and project path from the body", () => {
      const { binding } = objects;
      assert.equal(binding.apiVersion, "triggers.tekton.dev/v1beta1");
      assert.equal(binding.kind, "TriggerBinding");
      assert.deepEqual(binding.metadata, {
        name: "hello-python-push",
        namespace: "python-hello-build",
        labels: {
          "app.kubernetes.io/managed-by": "tekton-gitlab",
          "app.kubernetes.io/part-of": "hello-python",
        },
      });
      assert.deepEqual(binding.spec.params, [
        { name: "revision", value: "$(body.checkout_sha)" },
        { name: "ref", value: "$(body.ref)" },
        { name: "project-path", value: "$(body.project.path_with_namespace)" },
        { name: "commit-label", value: "$(extensions.commit_label)" },
      ]);
    });

    it("never reads a URL (or header) from the event", () => {
      for (const param of objects.binding.spec.params) {
        // Body fields, or the CEL interceptor's overlay computed from checkout_sha.
        assert.match(param.value, /^\$\((body|extensions)\.[a-z_.]+\)$/, param.name);
        assert.doesNotMatch(param.value, /url|http|ssh|repository|homepage/i, param.name);
      }
    });
  });

  describe("TriggerTemplate", function () {
    const { template } = objects;
    const run = template.spec.resourcetemplates[0];

    it("declares exactly the binding's params, each used in the PipelineRun", () => {
      assert.equal(template.metadata.name, names.template);
      assert.equal(template.metadata.namespace, app.namespace);
      const declared = template.spec.params.map((p) => p.name);
      assert.deepEqual(
        declared,
        objects.binding.spec.params.map((p) => p.name),
      );
      for (const param of template.spec.params) assert.equal(param.default, undefined);
      const text = JSON.stringify(run);
      for (const name of declared) assert.ok(text.includes(`$(tt.params.${name})`), name);
      const used = [...text.matchAll(/\$\(tt\.params\.([^)]+)\)/g)].map((m) => m[1]);
      for (const name of used) assert.ok(declared.includes(name), `undeclared ${name}`);
    });

    it("creates one tekton.dev/v1 PipelineRun of the app's Pipeline", () => {
      assert.equal(template.spec.resourcetemplates.length, 1);
      assert.equal(run.apiVersion, "tekton.dev/v1");
      assert.equal(run.kind, "PipelineRun");
      assert.equal(run.metadata.generateName, "build-hello-python-");
      assert.equal((run.metadata as any).name, undefined);
      assert.deepEqual(run.spec.pipelineRef, { name: "build-hello-python" });
      assert.deepEqual(run.spec.taskRunTemplate, {
        serviceAccountName: "tekton-build",
        // The tag step's user (65534) must be able to write the new source volume.
        podTemplate: { securityContext: { fsGroup: 65534 } },
      });
      // Status reporting keeps 3 minutes of the hour for the finally task that reports.
      assert.deepEqual(run.spec.timeouts, { pipeline: "1h", tasks: "3420s", finally: "180s" });
      assert.equal((run.spec as any).serviceAccountName, undefined, "v1beta1 field");
      assert.equal((run.spec as any).timeout, undefined, "v1beta1 field");
    });

    it("clones the configured projects over SSH and builds the bound revision", () => {
      assert.deepEqual(run.spec.params, [
        {
          name: "source-url",
          value: "git@gitlab-gitlab-shell.gitlab.svc.cluster.local:root/hello-python.git",
        },
        { name: "revision", value: "$(tt.params.revision)" },
        {
          name: "operations-url",
          value:
            "git@gitlab-gitlab-shell.gitlab.svc.cluster.local:root/hello-python-operations.git",
        },
      ]);
    });

    it("uses ssh:// clone URLs when GitLab SSH is not on port 22", () => {
      const withPort = { ...ctx, gitSsh: { ...ctx.gitSsh, port: 2222 } };
      const params = triggerObjects(app, withPort).template.spec.resourcetemplates[0].spec.params;
      assert.equal(
        params.find((p) => p.name === "source-url")?.value,
        "ssh://git@gitlab-gitlab-shell.gitlab.svc.cluster.local:2222/root/hello-python.git",
      );
    });

    it("binds the source PVC, the operations emptyDir and the credential workspaces", () => {
      assert.deepEqual(run.spec.workspaces, [
        {
          name: "source",
          volumeClaimTemplate: {
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
          },
        },
        { name: "operations", emptyDir: {} },
        { name: "git-pull-ssh", secret: { secretName: GIT_PULL_SECRET } },
        { name: "git-write-ssh", secret: { secretName: GIT_WRITE_SECRET } },
        {
          name: "docker-config",
          secret: {
            secretName: REGISTRY_SECRET,
            items: [{ key: ".dockerconfigjson", path: "config.json" }],
          },
        },
        { name: "registry-ca", configMap: { name: REGISTRY_CA_CONFIGMAP } },
        {
          name: "gitlab-status-token",
          secret: {
            secretName: "gitlab-status-token",
            items: [{ key: "token", path: "token" }],
            optional: true,
          },
        },
      ]);
    });

    it("takes size, storage class and timeout from pipelineRun config", () => {
      const custom = exampleApp((a) => ({
        ...a,
        pipelineRun: { workspaceSize: "5Gi", storageClassName: "fast-ssd", timeout: "45m" },
      }));
      const spec = triggerObjects(custom.app, custom.ctx).template.spec.resourcetemplates[0].spec;
      assert.deepEqual(spec.workspaces[0], {
        name: "source",
        volumeClaimTemplate: {
          spec: {
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: "5Gi" } },
            storageClassName: "fast-ssd",
          },
        },
      });
      assert.deepEqual(spec.timeouts, { pipeline: "45m", tasks: "2520s", finally: "180s" });
    });

    it("omits the registry workspaces when no username or CA is configured", () => {
      const bare = {
        ...ctx,
        registry: { host: ctx.registry.host, insecure: false, plainHttp: false },
      };
      const spec = triggerObjects(app, bare).template.spec.resourcetemplates[0].spec;
      assert.deepEqual(
        spec.workspaces.map((w) => w.name),
        ["source", "operations", "git-pull-ssh", "git-write-ssh", "gitlab-status-token"],
      );
    });

    it("labels runs with app, commit and a label-safe branch", () => {
      const feature = exampleApp((a) => ({ ...a, branch: "feature/Login_v2.1" }));
      const labels = triggerObjects(feature.app, feature.ctx).template.spec.resourcetemplates[0]
        .metadata.labels;
      assert.deepEqual(labels, {
        "app.kubernetes.io/managed-by": "tekton-gitlab",
        "app.kubernetes.io/part-of": "hello-python",
        [RUN_METADATA.commitLabel]: "$(tt.params.commit-label)",
        [RUN_METADATA.branchLabel]: "feature-Login_v2.1",
        // `printf %s feature/Login_v2.1 | sha256sum | cut -c1-40`: exact where the label above is
        // lossy (feature-Login_v2.1 would share it), so the cancel task selects by this one.
        [BRANCH_HASH_LABEL]: "6456bbdc8809e2eca06fd683d8a8a1f1ab30b201",
      });
      const annotations = triggerObjects(feature.app, feature.ctx).template.spec
        .resourcetemplates[0].metadata.annotations;
      assert.equal(annotations[RUN_METADATA.branchAnnotation], "feature/Login_v2.1");
      assert.equal(annotations[RUN_METADATA.refAnnotation], "$(tt.params.ref)");
      assert.equal(annotations[RUN_METADATA.projectAnnotation], "$(tt.params.project-path)");
    });
  });

  describe("branchHash", function () {
    it("is the first 40 hex digits of the branch's SHA-256: a label value for any branch", () => {
      // `printf %s <branch> | sha256sum | cut -c1-40`
      assert.equal(branchHash("main"), "0d6e4079e36703ebd37c00722f5891d28b0e2811");
      assert.equal(branchHash("feature-Login_v2.1"), "6605677313a0755e1d3b282705b74e79645d3b26");
      assert.notEqual(branchHash("feature/Login_v2.1"), branchHash("feature-Login_v2.1"));
    });
  });

  describe("labelValue", function () {
    it("keeps valid values and repairs the rest to label syntax", () => {
      assert.equal(labelValue("main"), "main");
      assert.equal(labelValue("release/1.2"), "release-1.2");
      assert.equal(labelValue("_x_/"), "x");
      assert.equal(labelValue("a'b\\c"), "a-b-c");
      assert.equal(labelValue("ünïcode"), "n-code");
      const long = labelValue(`${"a".repeat(62)}/b`);
      assert.equal(long, `${"a".repeat(62)}`);
      const cut = labelValue(`${"a".repeat(60)}.-_bbbb`);
      assert.ok(cut.length <= 63);
      assert.match(cut, /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
    });
  });

  describe("Trigger (one per app, selected by the shared listener)", function () {
    const { trigger } = objects;

    it("lives in the app namespace with the listener's label and wires binding and template", () => {
      assert.equal(trigger.apiVersion, "triggers.tekton.dev/v1beta1");
      assert.equal(trigger.kind, "Trigger");
      assert.equal(trigger.metadata.name, "hello-python-gitlab-push");
      assert.equal(trigger.metadata.namespace, "python-hello-build");
      assert.equal(trigger.metadata.labels?.[LISTENER_LABEL], "tekton-gitlab-listener");
      assert.deepEqual(trigger.spec.bindings, [
        { ref: "hello-python-push", kind: "TriggerBinding" },
      ]);
      assert.deepEqual(trigger.spec.template, { ref: "hello-python-pipelinerun" });
      // No serviceAccountName: the sink would impersonate it (pkg/sink/auth_override.go).
      assert.equal(
        (trigger.spec as unknown as Record<string, unknown>).serviceAccountName,
        undefined,
      );
    });

    it("filters project and branch first, then checks the app's token and the event type", () => {
      assert.deepEqual(
        trigger.spec.interceptors.map((i) => [i.name, i.ref]),
        [
          ["only-this-project-and-branch", { name: "cel", kind: "ClusterInterceptor" }],
          ["verify-gitlab-token", { name: "gitlab", kind: "ClusterInterceptor" }],
        ],
      );
      assert.deepEqual(trigger.spec.interceptors[0].params, [
        {
          name: "filter",
          value: `body.project.path_with_namespace == 'root/hello-python' && body.ref == 'refs/heads/main'${FILTER_TAIL}`,
        },
        // Label values stop at 63 characters: a SHA-256 commit is cut to 40 for the label.
        {
          name: "overlays",
          value: [{ key: "commit_label", expression: "body.checkout_sha.truncate(40)" }],
        },
      ]);
      assert.deepEqual(trigger.spec.interceptors[1].params, [
        { name: "secretRef", value: { secretName: "hello-python-webhook", secretKey: "token" } },
        { name: "eventTypes", value: ["Push Hook"] },
      ]);
    });

    it("creates its PipelineRun in the Trigger's namespace (the template names none)", () => {
      const [run] = objects.template.spec.resourcetemplates;
      assert.equal((run.metadata as Record<string, unknown>).namespace, undefined);
      assert.equal(objects.template.metadata.namespace, trigger.metadata.namespace);
    });
  });

  describe("shared EventListener", function () {
    const stack = exampleStack();
    const listener = sharedEventListener(stack.listener, [
      ...stack.apps,
      { namespace: "b-build" },
      { namespace: "a-build" },
      { namespace: "b-build" },
    ]);

    it("lives in its own namespace, runs as its own ServiceAccount, has no inline trigger", () => {
      assert.equal(listener.kind, "EventListener");
      assert.equal(listener.metadata.name, "tekton-gitlab");
      assert.equal(listener.metadata.namespace, "tekton-gitlab-listener");
      assert.equal(listener.spec.serviceAccountName, "tekton-gitlab-listener");
      assert.equal(listener.spec.triggers, undefined);
    });

    it("selects the Triggers of the apps' namespaces, by name, with its own label", () => {
      assert.deepEqual(listener.spec.namespaceSelector, {
        matchNames: ["a-build", "b-build", "python-hello-build"],
      });
      assert.deepEqual(listener.spec.labelSelector, {
        matchLabels: { [LISTENER_LABEL]: "tekton-gitlab-listener" },
      });
    });

    it("follows listener.namespace", () => {
      const other = sharedEventListener({ namespace: "hooks" }, stack.apps);
      assert.equal(other.metadata.namespace, "hooks");
      assert.deepEqual(other.spec.labelSelector?.matchLabels, { [LISTENER_LABEL]: "hooks" });
      const { app, ctx } = exampleApp();
      assert.equal(
        triggerObjects(app, ctx, { namespace: "hooks" }).trigger.metadata.labels?.[LISTENER_LABEL],
        "hooks",
      );
    });
  });

  describe("CEL branch filter", function () {
    for (const branch of ["main", "it's", "a\\b", "q'\\'x", 'say"hi', "end\\", "x' || true || '"]) {
      it(`compares body.ref to exactly refs/heads/${branch}`, () => {
        const filter = pushFilter(branch);
        const prefix = "body.ref == ";
        assert.ok(filter.startsWith(prefix), filter);
        const literal = readCelLiteral(filter, prefix.length);
        assert.equal(literal.value, `refs/heads/${branch}`);
        assert.equal(filter.slice(literal.end), FILTER_TAIL);
      });
    }

    describe("checkout_sha pattern", function () {
      // RE2 (CEL's matches) and JavaScript agree on this pattern's syntax: anchors,
      // alternation, a character class and counted repetition.
      const pattern = new RegExp(/matches\('([^']+)'\)/.exec(pushFilter("main"))![1]);
      const hex = (length: number) => "0123456789abcdef".repeat(8).slice(0, length);

      for (const length of [40, 64]) {
        it(`admits a full ${length}-hex commit id, as generate-image-tag does`, () => {
          assert.match(hex(length), pattern);
        });
      }

      const rejected: Record<string, string> = {
        "39 hex": hex(39),
        "41 hex": hex(41),
        "63 hex": hex(63),
        "65 hex": hex(65),
        "40 + 64 hex": hex(40) + hex(64),
        uppercase: hex(40).toUpperCase(),
        "a trailing newline": hex(40) + "\n",
        "a non-hex character": hex(39) + "g",
        "a short SHA": hex(8),
        "a quote after 40 hex": hex(40) + "'",
        empty: "",
      };
      for (const [what, sha] of Object.entries(rejected)) {
        it(`rejects ${what}`, () => {
          assert.doesNotMatch(sha, pattern);
        });
      }
    });

    it("escapes control and non-ASCII characters instead of embedding them", () => {
      const literal = celStringLiteral("a\nb\u00e9\u{1f600}");
      assert.equal(literal, "'a\\u000ab\\u00e9\\U0001f600'");
      assert.equal(readCelLiteral(literal, 0).value, "a\nb\u00e9\u{1f600}");
    });

    it("is what the Trigger's CEL interceptor runs for the app's branch, after the project", () => {
      const odd = exampleApp((a) => ({ ...a, branch: "it's/fine" }));
      const cel = triggerObjects(odd.app, odd.ctx).trigger.spec.interceptors[0];
      const project = "body.project.path_with_namespace == 'root/hello-python' && ";
      assert.deepEqual(cel.params[0], {
        name: "filter",
        value: project + pushFilter("it's/fine"),
      });
      assert.equal(
        readCelLiteral(cel.params[0].value as string, (project + "body.ref == ").length).value,
        "refs/heads/it's/fine",
      );
    });
  });

  describe("RBAC", function () {
    const stack = exampleStack();
    const listener = listenerObjects({ ...stack.listener, host: stack.listener.host! }, stack.apps);
    const subject = {
      kind: "ServiceAccount",
      name: "tekton-gitlab-listener",
      namespace: "tekton-gitlab-listener",
    };
    const noSecretsNoWildcards = (
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[],
    ) => {
      for (const rule of rules) {
        assert.ok(!rule.resources.includes("secrets"), JSON.stringify(rule));
        for (const field of [rule.apiGroups, rule.resources, rule.verbs]) {
          assert.ok(!field.includes("*"), JSON.stringify(rule));
        }
      }
    };

    it("gives the shared listener its own ServiceAccount in the listener namespace", () => {
      assert.equal(listener.serviceAccount.kind, "ServiceAccount");
      assert.equal(listener.serviceAccount.metadata.name, "tekton-gitlab-listener");
      assert.equal(listener.serviceAccount.metadata.namespace, "tekton-gitlab-listener");
    });

    it("lets it create PipelineRuns in each app namespace and nothing else there", () => {
      const { role, roleBinding } = objects;
      assert.equal(role.metadata.namespace, "python-hello-build");
      assert.deepEqual(role.rules, [
        { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["create"] },
      ]);
      assert.equal(roleBinding.metadata.namespace, "python-hello-build");
      assert.deepEqual(roleBinding.roleRef, {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: role.metadata.name,
      });
      assert.deepEqual(roleBinding.subjects, [subject]);
    });

    it("grants in its own namespace events only", () => {
      assert.equal(listener.role.metadata.namespace, "tekton-gitlab-listener");
      // No ConfigMaps: Triggers v0.37.0's sink watches none; its logging and observability
      // config arrive as env vars (see listenerRole).
      assert.deepEqual(listener.role.rules, [
        { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
      ]);
      assert.deepEqual(listener.roleBinding.subjects, [subject]);
      assert.equal(listener.roleBinding.roleRef.name, listener.role.metadata.name);
    });

    it("grants cluster-wide only reads of Triggers' own kinds (multi-namespace informers)", () => {
      assert.deepEqual(listenerClusterRole(), {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: {
          name: LISTENER_CLUSTER_ROLE,
          labels: { "app.kubernetes.io/managed-by": "tekton-gitlab" },
        },
        rules: [
          {
            apiGroups: ["triggers.tekton.dev"],
            resources: [
              "clustertriggerbindings",
              "clusterinterceptors",
              "eventlisteners",
              "triggers",
              "triggerbindings",
              "triggertemplates",
              "interceptors",
            ],
            verbs: ["get", "list", "watch"],
          },
        ],
      });
      assert.equal(listenerClusterRole("x-role").metadata.name, "x-role");
      const named = listenerObjects(
        { ...stack.listener, host: "h.example.com" },
        stack.apps,
        "x-role",
      );
      assert.equal(named.clusterRoleBinding.roleRef.name, "x-role");
      assert.deepEqual(listener.clusterRoleBinding.subjects, [subject]);
      assert.equal(
        listener.clusterRoleBinding.metadata.name,
        "tekton-gitlab-tekton-gitlab-listener-listener",
      );
    });

    it("grants no Secret and no wildcard anywhere", () => {
      noSecretsNoWildcards(objects.role.rules);
      noSecretsNoWildcards(listener.role.rules);
      noSecretsNoWildcards(listenerClusterRole().rules);
    });
  });

  describe("Ingress (one for every app)", function () {
    const stack = exampleStack();
    const base = { ...stack.listener, host: "builds.example.com" };

    it("routes the one host to el-tekton-gitlab:8080 in the listener namespace", () => {
      const plain = webhookIngress({
        ...base,
        ingress: { useControllerDefaultCertificate: false },
        webhook: { tls: false, sslVerification: true },
      });
      assert.equal(plain.apiVersion, "networking.k8s.io/v1");
      assert.equal(plain.metadata.namespace, "tekton-gitlab-listener");
      assert.equal(plain.metadata.annotations, undefined);
      assert.equal(plain.spec.ingressClassName, undefined);
      assert.equal(plain.spec.tls, undefined);
      assert.deepEqual(plain.spec.rules, [
        {
          host: "builds.example.com",
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: "el-tekton-gitlab", port: { number: 8080 } } },
              },
            ],
          },
        },
      ]);
      assert.equal(EVENT_LISTENER_PORT, 8080);
      assert.equal(
        listenerNames(base).service,
        `el-${sharedEventListener(base, []).metadata.name}`,
      );
    });

    it("takes class, TLS secret and annotations from listener config", () => {
      const ingress = webhookIngress({
        ...base,
        ingress: {
          className: "nginx",
          tlsSecretName: "webhook-tls",
          useControllerDefaultCertificate: false,
          annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
        },
      });
      assert.equal(ingress.spec.ingressClassName, "nginx");
      assert.deepEqual(ingress.spec.tls, [
        { hosts: ["builds.example.com"], secretName: "webhook-tls" },
      ]);
      assert.deepEqual(ingress.metadata.annotations, {
        "cert-manager.io/cluster-issuer": "letsencrypt",
      });
    });

    it("terminates TLS with the controller's default certificate only when opted in", () => {
      const ingress = webhookIngress({
        ...base,
        ingress: { className: "nginx", useControllerDefaultCertificate: true },
      });
      // No secretName: the Ingress API lets the controller use its default certificate.
      assert.deepEqual(ingress.spec.tls, [{ hosts: ["builds.example.com"] }]);
    });
  });

  describe("webhookUrl", function () {
    it("is the one host's root, https unless TLS is explicitly off", () => {
      const stack = exampleStack();
      assert.equal(webhookUrl(stack.listener), "https://builds.192-168-2-119.nip.io/");
      assert.equal(
        webhookUrl({ ...stack.listener, webhook: { tls: false, sslVerification: false } }),
        "http://builds.192-168-2-119.nip.io/",
      );
    });
  });

  describe("triggerManifests", function () {
    it("returns the binding, template and Trigger for rendering", () => {
      const manifests = triggerManifests(app, ctx);
      assert.deepEqual(
        manifests.map((m) => `${m.kind}/${m.metadata.name}`),
        [
          "TriggerBinding/hello-python-push",
          "TriggerTemplate/hello-python-pipelinerun",
          "Trigger/hello-python-gitlab-push",
        ],
      );
      assert.deepEqual(manifests, [objects.binding, objects.template, objects.trigger]);
    });
  });
});
