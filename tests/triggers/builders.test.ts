import * as assert from "node:assert/strict";
import {
  GIT_PULL_SECRET,
  GIT_WRITE_SECRET,
  REGISTRY_CA_CONFIGMAP,
  REGISTRY_SECRET,
} from "../../tekton/names";
import {
  celStringLiteral,
  EVENT_LISTENER_PORT,
  labelValue,
  LISTENER_CLUSTER_ROLE,
  listenerClusterRole,
  pushFilter,
  RUN_METADATA,
  triggerManifests,
  triggerNames,
  triggerObjects,
  webhookUrl,
} from "../../tekton/triggers";
import { exampleApp } from "./helpers";

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
      assert.deepEqual(run.spec.timeouts, { pipeline: "1h" });
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
      assert.deepEqual(spec.timeouts, { pipeline: "45m" });
    });

    it("omits the registry workspaces when no username or CA is configured", () => {
      const bare = {
        ...ctx,
        registry: { host: ctx.registry.host, insecure: false, plainHttp: false },
      };
      const spec = triggerObjects(app, bare).template.spec.resourcetemplates[0].spec;
      assert.deepEqual(
        spec.workspaces.map((w) => w.name),
        ["source", "operations", "git-pull-ssh", "git-write-ssh"],
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
      });
      const annotations = triggerObjects(feature.app, feature.ctx).template.spec
        .resourcetemplates[0].metadata.annotations;
      assert.equal(annotations[RUN_METADATA.branchAnnotation], "feature/Login_v2.1");
      assert.equal(annotations[RUN_METADATA.refAnnotation], "$(tt.params.ref)");
      assert.equal(annotations[RUN_METADATA.projectAnnotation], "$(tt.params.project-path)");
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

  describe("EventListener", function () {
    const { listener } = objects;
    const [trigger] = listener.spec.triggers;

    it("runs as its own ServiceAccount and wires the binding and template", () => {
      assert.equal(listener.apiVersion, "triggers.tekton.dev/v1beta1");
      assert.equal(listener.kind, "EventListener");
      assert.equal(listener.metadata.name, "hello-python-listener");
      assert.equal(listener.metadata.namespace, "python-hello-build");
      assert.equal(listener.spec.serviceAccountName, "hello-python-listener");
      assert.notEqual(listener.spec.serviceAccountName, "tekton-build");
      assert.equal(listener.spec.triggers.length, 1);
      assert.deepEqual(trigger.bindings, [{ ref: "hello-python-push", kind: "TriggerBinding" }]);
      assert.deepEqual(trigger.template, { ref: "hello-python-pipelinerun" });
    });

    it("checks the GitLab token and event type first, then filters the branch", () => {
      assert.deepEqual(
        trigger.interceptors.map((i) => i.ref),
        [
          { name: "gitlab", kind: "ClusterInterceptor" },
          { name: "cel", kind: "ClusterInterceptor" },
        ],
      );
      assert.deepEqual(trigger.interceptors[0].params, [
        { name: "secretRef", value: { secretName: "hello-python-webhook", secretKey: "token" } },
        { name: "eventTypes", value: ["Push Hook"] },
      ]);
      assert.deepEqual(trigger.interceptors[1].params, [
        { name: "filter", value: `body.ref == 'refs/heads/main'${FILTER_TAIL}` },
        // Label values stop at 63 characters: a SHA-256 commit is cut to 40 for the label.
        {
          name: "overlays",
          value: [{ key: "commit_label", expression: "body.checkout_sha.truncate(40)" }],
        },
      ]);
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

    it("is what the listener's CEL interceptor runs for the app's branch", () => {
      const odd = exampleApp((a) => ({ ...a, branch: "it's/fine" }));
      const listener = triggerObjects(odd.app, odd.ctx).listener;
      const cel = listener.spec.triggers[0].interceptors[1];
      assert.deepEqual(cel.params[0], { name: "filter", value: pushFilter("it's/fine") });
      assert.equal(
        readCelLiteral(cel.params[0].value as string, "body.ref == ".length).value,
        "refs/heads/it's/fine",
      );
    });
  });

  describe("RBAC", function () {
    const subject = {
      kind: "ServiceAccount",
      name: "hello-python-listener",
      namespace: "python-hello-build",
    };

    it("gives the listener its own ServiceAccount in the build namespace", () => {
      assert.equal(objects.serviceAccount.kind, "ServiceAccount");
      assert.equal(objects.serviceAccount.metadata.name, "hello-python-listener");
      assert.equal(objects.serviceAccount.metadata.namespace, "python-hello-build");
    });

    it("binds the listener to roles of our own, none granting Secrets", () => {
      const { role, roleBinding, clusterRoleBinding } = objects;
      assert.equal(roleBinding.kind, "RoleBinding");
      assert.equal(roleBinding.metadata.namespace, "python-hello-build");
      assert.deepEqual(roleBinding.roleRef, {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: role.metadata.name,
      });
      assert.equal(role.kind, "Role");
      assert.equal(role.metadata.namespace, "python-hello-build");
      assert.deepEqual(roleBinding.subjects, [subject]);
      assert.equal(clusterRoleBinding.kind, "ClusterRoleBinding");
      assert.equal(clusterRoleBinding.metadata.namespace, undefined);
      assert.deepEqual(clusterRoleBinding.roleRef, {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: LISTENER_CLUSTER_ROLE,
      });
      assert.deepEqual(clusterRoleBinding.subjects, [subject]);
      for (const manifest of [role, listenerClusterRole()]) {
        for (const rule of manifest.rules) {
          assert.ok(!rule.resources.includes("secrets"), JSON.stringify(rule));
          for (const field of [rule.apiGroups, rule.resources, rule.verbs]) {
            assert.ok(!field.includes("*"), JSON.stringify(rule));
          }
        }
      }
    });

    it("grants cluster-wide only reads of ClusterTriggerBindings and ClusterInterceptors", () => {
      // Triggers v0.37.0 pkg/adapter/adapter.go: the only cluster-scoped informers.
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
            resources: ["clustertriggerbindings", "clusterinterceptors"],
            verbs: ["get", "list", "watch"],
          },
        ],
      });
      assert.equal(listenerClusterRole("x-role").metadata.name, "x-role");
      const { app, ctx } = exampleApp();
      const named = triggerObjects(app, { ...ctx, listenerClusterRole: "x-role" });
      assert.equal(named.clusterRoleBinding.roleRef.name, "x-role");
    });

    it("grants in the namespace reads of its Triggers objects, PipelineRun create, events", () => {
      assert.deepEqual(objects.role.rules, [
        {
          apiGroups: ["triggers.tekton.dev"],
          resources: [
            "eventlisteners",
            "triggerbindings",
            "interceptors",
            "triggertemplates",
            "triggers",
          ],
          verbs: ["get", "list", "watch"],
        },
        { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["create"] },
        { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
      ]);
    });

    it("names the ClusterRoleBinding uniquely per namespace and app", () => {
      const other = exampleApp((a) => ({ ...a, namespace: "other-build" }));
      const a = objects.clusterRoleBinding.metadata.name;
      const b = triggerObjects(other.app, other.ctx).clusterRoleBinding.metadata.name;
      assert.equal(a, "tekton-gitlab-python-hello-build-hello-python-listener");
      assert.notEqual(a, b);
      assert.ok(a.length <= 253);
    });
  });

  describe("Ingress", function () {
    it("routes the webhook host to el-<listener>:8080", () => {
      const plain = exampleApp((a) => ({ ...a, ingress: {}, webhook: { tls: false } }));
      const { ingress } = triggerObjects(plain.app, plain.ctx);
      assert.equal(ingress.apiVersion, "networking.k8s.io/v1");
      assert.equal(ingress.metadata.namespace, "python-hello-build");
      assert.equal(ingress.metadata.annotations, undefined);
      assert.equal(ingress.spec.ingressClassName, undefined);
      assert.equal(ingress.spec.tls, undefined);
      assert.deepEqual(ingress.spec.rules, [
        {
          host: "python-hello-application.build.192-168-2-119.nip.io",
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: {
                  service: { name: "el-hello-python-listener", port: { number: 8080 } },
                },
              },
            ],
          },
        },
      ]);
      assert.equal(EVENT_LISTENER_PORT, 8080);
      assert.equal(names.service, `el-${objects.listener.metadata.name}`);
    });

    it("takes class, TLS secret and annotations from config", () => {
      const custom = exampleApp((a) => ({
        ...a,
        ingress: {
          className: "nginx",
          tlsSecretName: "webhook-tls",
          annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
        },
      }));
      const { ingress } = triggerObjects(custom.app, custom.ctx);
      assert.equal(ingress.spec.ingressClassName, "nginx");
      assert.deepEqual(ingress.spec.tls, [
        {
          hosts: ["python-hello-application.build.192-168-2-119.nip.io"],
          secretName: "webhook-tls",
        },
      ]);
      assert.deepEqual(ingress.metadata.annotations, {
        "cert-manager.io/cluster-issuer": "letsencrypt",
      });
    });
  });

  describe("Ingress TLS", function () {
    it("terminates TLS with the controller's default certificate only when opted in", () => {
      const opted = exampleApp((a) => ({
        ...a,
        ingress: { className: "nginx", useControllerDefaultCertificate: true },
      }));
      const { ingress } = triggerObjects(opted.app, opted.ctx);
      // No secretName: the Ingress API lets the controller use its default certificate.
      assert.deepEqual(ingress.spec.tls, [
        { hosts: ["python-hello-application.build.192-168-2-119.nip.io"] },
      ]);
    });
  });

  describe("webhookUrl", function () {
    it("is https unless TLS is explicitly off", () => {
      assert.equal(webhookUrl(app), "https://python-hello-application.build.192-168-2-119.nip.io/");
      const plain = exampleApp((a) => ({ ...a, webhook: { tls: false } })).app;
      assert.equal(
        webhookUrl(plain),
        "http://python-hello-application.build.192-168-2-119.nip.io/",
      );
    });
  });

  describe("triggerManifests", function () {
    it("returns the binding, template and listener for rendering", () => {
      const manifests = triggerManifests(app, ctx);
      assert.deepEqual(
        manifests.map((m) => `${m.kind}/${m.metadata.name}`),
        [
          "TriggerBinding/hello-python-push",
          "TriggerTemplate/hello-python-pipelinerun",
          "EventListener/hello-python-listener",
        ],
      );
      assert.deepEqual(manifests, [objects.binding, objects.template, objects.listener]);
    });
  });
});
