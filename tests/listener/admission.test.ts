// The shared listener's admission policy, evaluated for real: every CEL expression of the
// rendered ValidatingAdmissionPolicy runs in a CEL interpreter (@marcbachmann/cel-js) against
// the PipelineRun the app's TriggerTemplate renders (allowed) and against crafted runs a
// compromised listener could send (denied).
import * as assert from "node:assert/strict";
import { evaluate } from "@marcbachmann/cel-js";
import { AppConfig } from "../../config/schema";
import {
  admissionPolicyName,
  listenerAdmission,
  listenerUsername,
  ValidatingAdmissionPolicyManifest,
} from "../../tekton/listener/listenerAdmission";
import { CANCEL_TASK_NAME } from "../../tekton/cancel/cancelTask";
import {
  GIT_PULL_SECRET,
  GIT_WRITE_SECRET,
  pipelineName,
  WORKSPACES,
} from "../../tekton/core/names";
import { pipelineRunTemplate, TriggerContext } from "../../tekton/listener/triggers";
import { buildContext } from "../../tekton/build/context";
import { appAndContext } from "../build/helpers";
import { deliver } from "../harness/sharedListener";
import { mergeRequestPipelineName } from "../../tekton/mergeRequest/pipeline";
import {
  MERGE_REQUEST_EVENT_TYPE,
  mergeRequestRunTemplate,
  NOTE_EVENT_TYPE,
} from "../../tekton/mergeRequest/triggers";
import {
  headers as mrHeaders,
  mergeRequestEvent,
  mergeRequestStack,
  noteEvent,
  TOKENS as MR_TOKENS,
} from "../mergeRequest/helpers";
import { exampleApp, pushHeaders, pushPayload, sharedCluster } from "./helpers";

const listener = { namespace: "tekton-gitlab-listener" };
const LISTENER_USER = "system:serviceaccount:tekton-gitlab-listener:tekton-gitlab-listener";

/** What Triggers creates for a push: the template with its tt.params substituted. */
function renderedRun(app: AppConfig, ctx: TriggerContext): any {
  const values: Record<string, string> = {
    revision: "0123456789abcdef0123456789abcdef01234567",
    ref: `refs/heads/${app.branch}`,
    "project-path": app.sourceProject,
    "commit-label": "0123456789abcdef0123456789abcdef01234567",
  };
  const text = JSON.stringify(pipelineRunTemplate(app, ctx)).replace(
    /\$\(tt\.params\.([a-z-]+)\)/g,
    (_, name: string) => {
      if (!(name in values)) throw new Error(`test has no value for tt.params.${name}`);
      return values[name];
    },
  );
  const run = JSON.parse(text);
  run.metadata.namespace = app.namespace;
  return run;
}

function request(user: string, object: any) {
  return {
    request: {
      userInfo: { username: user },
      namespace: object.metadata.namespace,
      operation: "CREATE",
    },
    object,
  };
}

/** The messages of the validations that fail (or error) for `object`: empty = allowed. */
function denials(policy: ValidatingAdmissionPolicyManifest, object: any): string[] {
  const vars = request(LISTENER_USER, object);
  return policy.spec.validations
    .filter((v) => {
      try {
        return evaluate(v.expression, vars) !== true;
      } catch {
        return true; // a CEL error on a validation denies (failurePolicy Fail)
      }
    })
    .map((v) => v.message);
}

function matches(policy: ValidatingAdmissionPolicyManifest, user: string, object: any): boolean {
  return policy.spec.matchConditions.every((c) => evaluate(c.expression, request(user, object)));
}

const variants: [string, () => { app: AppConfig; ctx: TriggerContext }][] = [
  ["registry with credentials", () => exampleApp()],
  [
    "anonymous registry",
    () =>
      appAndContext({
        registry: (r) => ({ ...r, username: undefined }),
      }),
  ],
  [
    "anonymous registry, cancelSuperseded: false",
    () =>
      appAndContext({
        registry: (r) => ({ ...r, username: undefined }),
        apps: ([a]) => [{ ...a, cancelSuperseded: false }],
      }),
  ],
];

/** What each variant's run gives its own ServiceAccount: pipeline task -> account. */
const EXPECTED_TASK_ACCOUNTS: Record<string, Record<string, string>> = {
  "registry with credentials": {
    "build-and-push": "tekton-build-push",
    "cancel-superseded": "tekton-cancel",
  },
  "anonymous registry": { "cancel-superseded": "tekton-cancel" },
  "anonymous registry, cancelSuperseded: false": {},
};

for (const [label, setup] of variants) {
  describe(`listener admission policy (${label})`, () => {
    const { app, ctx } = setup();
    const [policy, binding] = listenerAdmission(listener, app, ctx);
    const allowed = () => renderedRun(app, ctx);
    const expectDenied = (object: any) => assert.notDeepEqual(denials(policy, object), []);

    it("allows exactly the run the app's TriggerTemplate renders", () => {
      assert.deepEqual(denials(policy, allowed()), []);
      // The variants differ where it matters: which tasks get a ServiceAccount of their own.
      assert.deepEqual(
        Object.fromEntries(
          (allowed().spec.taskRunSpecs ?? []).map((s: any) => [
            s.pipelineTaskName,
            s.serviceAccountName,
          ]),
        ),
        EXPECTED_TASK_ACCOUNTS[label],
      );
    });

    it("denies tekton-cancel (the one account with an API token) for any other task", () => {
      const cancelSpec = {
        pipelineTaskName: CANCEL_TASK_NAME,
        serviceAccountName: "tekton-cancel",
      };
      const others = (allowed().spec.taskRunSpecs ?? []).filter(
        (s: any) => s.pipelineTaskName !== CANCEL_TASK_NAME,
      );
      for (const task of ["generate-image-tag", "build-and-push", "patch-deployment"]) {
        const moved = allowed();
        moved.spec.taskRunSpecs = [
          ...others.filter((s: any) => s.pipelineTaskName !== task),
          { pipelineTaskName: task, serviceAccountName: "tekton-cancel" },
        ];
        expectDenied(moved);
        const added = allowed();
        added.spec.taskRunSpecs = [
          ...(added.spec.taskRunSpecs ?? []),
          { pipelineTaskName: task, serviceAccountName: "tekton-cancel" },
        ];
        expectDenied(added);
      }
      const runWide = allowed();
      runWide.spec.taskRunTemplate.serviceAccountName = "tekton-cancel";
      expectDenied(runWide);
      if (!app.cancelSuperseded) {
        // Off: the cancel task's entry is refused too (no such task, no such account).
        const extra = allowed();
        extra.spec.taskRunSpecs = [...(extra.spec.taskRunSpecs ?? []), cancelSpec];
        expectDenied(extra);
      } else {
        // On: a run without it (cancel task as tekton-build) is not the template's run either.
        const without = allowed();
        without.spec.taskRunSpecs = others;
        expectDenied(without);
      }
    });

    it("matches only CREATE of tekton.dev/v1 pipelineruns in the app namespace, by the listener", () => {
      assert.equal(policy.spec.failurePolicy, "Fail");
      assert.deepEqual(policy.spec.matchConstraints.resourceRules, [
        {
          apiGroups: ["tekton.dev"],
          apiVersions: ["v1"],
          operations: ["CREATE"],
          resources: ["pipelineruns"],
        },
      ]);
      assert.equal(policy.spec.matchConstraints.matchPolicy, "Equivalent");
      assert.equal(listenerUsername(listener), LISTENER_USER);
      assert.equal(matches(policy, LISTENER_USER, allowed()), true);
      for (const other of [
        "system:serviceaccount:ci:tekton-gitlab-listener",
        "system:serviceaccount:tekton-gitlab-listener:default",
        "alice",
      ]) {
        assert.equal(matches(policy, other, allowed()), false, other);
      }
      assert.deepEqual(binding.spec, {
        policyName: policy.metadata.name,
        validationActions: ["Deny"],
        matchResources: {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": app.namespace } },
        },
      });
      assert.equal(binding.metadata.name, admissionPolicyName(app));
    });

    it("denies an inline pipelineSpec", () => {
      const run = allowed();
      run.spec.pipelineSpec = { tasks: [{ name: "steal", taskSpec: { steps: [] } }] };
      expectDenied(run);
      delete run.spec.pipelineRef;
      expectDenied(run);
    });

    it("denies another pipelineRef, a resolver or another namespace's pipeline", () => {
      const other = allowed();
      other.spec.pipelineRef = { name: "build-billing" };
      expectDenied(other);
      const resolver = allowed();
      resolver.spec.pipelineRef = {
        name: pipelineName(app),
        resolver: "git",
        params: [{ name: "url", value: "https://evil.example/p.git" }],
      };
      expectDenied(resolver);
    });

    it("denies an extra workspace binding the git-write Secret", () => {
      const run = allowed();
      run.spec.workspaces.push({ name: "extra", secret: { secretName: GIT_WRITE_SECRET } });
      expectDenied(run);
    });

    it("denies the git-pull Secret bound to another workspace name", () => {
      const run = allowed();
      const pull = run.spec.workspaces.find((w: any) => w.name === WORKSPACES.gitPull);
      const source = run.spec.workspaces.find((w: any) => w.name === WORKSPACES.source);
      // Swap: the source workspace now carries the git-pull Secret, the count stays the same.
      source.secret = { secretName: GIT_PULL_SECRET };
      assert.equal(pull.secret.secretName, GIT_PULL_SECRET);
      delete source.volumeClaimTemplate;
      expectDenied(run);
      const renamed = allowed();
      renamed.spec.workspaces.find((w: any) => w.name === WORKSPACES.gitPull).name = "operations-x";
      expectDenied(renamed);
    });

    it("denies git-write swapped into the git-pull workspace", () => {
      const run = allowed();
      run.spec.workspaces.find((w: any) => w.name === WORKSPACES.gitPull).secret.secretName =
        GIT_WRITE_SECRET;
      expectDenied(run);
    });

    it("allows the GitLab status token only as the template binds it (its one key, its workspace)", () => {
      const token = (run: any) =>
        run.spec.workspaces.find((w: any) => w.name === WORKSPACES.statusToken);
      assert.deepEqual(token(allowed()), {
        name: WORKSPACES.statusToken,
        secret: {
          secretName: "gitlab-status-token",
          items: [{ key: "token", path: "token" }],
          optional: true,
        },
      });
      // The whole Secret instead of its token key.
      const whole = allowed();
      delete token(whole).secret.items;
      expectDenied(whole);
      // The token Secret under the tag task's workspace, so the clone step would hold it.
      const moved = allowed();
      moved.spec.workspaces.find((w: any) => w.name === WORKSPACES.gitPull).secret = {
        secretName: "gitlab-status-token",
      };
      expectDenied(moved);
      // git-write under the status workspace: the status step would hold the push key.
      const swapped = allowed();
      token(swapped).secret.secretName = GIT_WRITE_SECRET;
      expectDenied(swapped);
    });

    it("denies another serviceAccountName", () => {
      const run = allowed();
      run.spec.taskRunTemplate.serviceAccountName = "tekton-build-push";
      expectDenied(run);
      delete run.spec.taskRunTemplate.serviceAccountName;
      expectDenied(run);
    });

    it("denies extra taskRunSpecs with another ServiceAccount", () => {
      const run = allowed();
      run.spec.taskRunSpecs = [
        ...(run.spec.taskRunSpecs ?? []),
        { pipelineTaskName: "update-operations", serviceAccountName: "tekton-build-push" },
      ];
      expectDenied(run);
      const stepSpecs = allowed();
      stepSpecs.spec.taskRunSpecs = [
        { pipelineTaskName: "build", serviceAccountName: "tekton-build", stepSpecs: [] },
      ];
      expectDenied(stepSpecs);
    });

    it("denies a podTemplate with volumes, env or another securityContext", () => {
      const volumes = allowed();
      volumes.spec.taskRunTemplate.podTemplate.volumes = [
        { name: "keys", secret: { secretName: GIT_WRITE_SECRET } },
      ];
      expectDenied(volumes);
      const root = allowed();
      root.spec.taskRunTemplate.podTemplate.securityContext.runAsUser = 0;
      expectDenied(root);
      const env = allowed();
      env.spec.taskRunTemplate.podTemplate.env = [{ name: "X", value: "y" }];
      expectDenied(env);
    });

    it("denies other params and other clone URLs", () => {
      const extra = allowed();
      extra.spec.params.push({ name: "extra", value: "x" });
      expectDenied(extra);
      const url = allowed();
      url.spec.params.find((p: any) => p.name === "source-url").value =
        "ssh://git@evil.example/x.git";
      expectDenied(url);
    });
  });
}

describe("listener admission policy and the modelled sink", () => {
  // The runs the sink model (tests/harness/sharedListener.ts, Triggers v0.37.0 pkg/sink) creates
  // for real pushes: each passes its own app's policy and no other app's, so a run can be
  // neither forged for an app nor replayed into another app's namespace.
  const tokens: Record<string, string> = {
    "hello-python": "token-of-hello-python-0123456789",
    orders: "token-of-orders-0123456789abcdef",
  };
  const { config, cluster } = sharedCluster([{ name: "orders" }], tokens);
  const ctx = buildContext(config);
  const policies = config.apps.map((app) => listenerAdmission(config.listener, app, ctx)[0]);

  for (const app of config.apps) {
    it(`admits ${app.name}'s delivered run under its own policy only`, () => {
      const body = pushPayload();
      body.project.path_with_namespace = app.sourceProject;
      body.ref = `refs/heads/${app.branch}`;
      const outcome = deliver(cluster, { headers: pushHeaders(tokens[app.name]), body });
      assert.equal(outcome.created.length, 1);
      const run = { ...outcome.created[0].run, metadata: { namespace: app.namespace } };
      for (const [i, other] of config.apps.entries()) {
        const denied = denials(policies[i], run);
        if (other.name === app.name) assert.deepEqual(denied, [], app.name);
        else assert.notDeepEqual(denied, [], `${app.name}'s run under ${other.name}'s policy`);
      }
    });
  }
});

describe("listener admission policy with merge request builds", () => {
  // With mergeRequests.build the listener creates two kinds of run in the app's namespace: the
  // push build's and the merge request build's. The policy admits each template's run whole and
  // nothing in between.
  // The example registry has a username: push needs a Secret named for merge requests (config).
  const mrVariants: [string, (a: any) => any][] = [
    ["build only", (a) => ({ ...a, mergeRequests: { build: true } })],
    [
      "build only, with a registry Secret of its own",
      (a) => ({ ...a, mergeRequests: { build: true, registrySecretName: "mr-registry" } }),
    ],
    [
      "build and push the mr- tag",
      (a) => ({
        ...a,
        mergeRequests: { build: true, push: true, registrySecretName: "mr-registry" },
      }),
    ],
  ];
  for (const [label, edit] of mrVariants) {
    describe(label, () => {
      const { app, ctx } = exampleApp(edit);
      const [policy] = listenerAdmission(listener, app, ctx);
      const push = pipelineName(app);
      const mr = mergeRequestPipelineName(app);
      const mrRun = () => renderedMergeRequestRun(app, ctx);
      const pushRun = () => renderedRun(app, ctx);
      const message = (pipeline: string, start: string) => {
        const found = policy.spec.validations
          .map((v) => v.message)
          .filter((m) => m.startsWith(`runs of ${pipeline}: ${start}`));
        assert.equal(found.length, 1, `${pipeline}: ${start}`);
        return found[0];
      };
      const ONE_OF = `spec.pipelineRef.name must be one of ${push}, ${mr}`;

      it("admits the merge request run and the push run its templates render", () => {
        assert.deepEqual(denials(policy, mrRun()), []);
        assert.deepEqual(denials(policy, pushRun()), []);
        assert.equal(mrRun().spec.pipelineRef.name, mr);
        // The two shapes really differ where it matters.
        const names = (run: any) => run.spec.workspaces.map((w: any) => w.name);
        assert.ok(names(pushRun()).includes(WORKSPACES.gitWrite));
        assert.ok(!names(mrRun()).includes(WORKSPACES.gitWrite));
        const accounts = Object.fromEntries(
          (mrRun().spec.taskRunSpecs ?? []).map((s: any) => [
            s.pipelineTaskName,
            s.serviceAccountName,
          ]),
        );
        // build-merge-request keeps tekton-build, with or without push: nothing for Chains.
        assert.deepEqual(accounts, {
          "cancel-superseded": "tekton-cancel",
          "report-result": "tekton-status-reader",
        });
      });

      it("refuses a run binding docker-config to registry-credentials instead of the named Secret", () => {
        const secretName = app.mergeRequests.registrySecretName;
        const borrowed = mrRun();
        const pushBinding = pushRun().spec.workspaces.find(
          (w: any) => w.name === WORKSPACES.dockerConfig,
        );
        assert.equal(pushBinding.secret.secretName, "registry-credentials");
        if (secretName === undefined) {
          // No docker-config at all in the template: adding the push build's is refused.
          assert.ok(!borrowed.spec.workspaces.some((w: any) => w.name === WORKSPACES.dockerConfig));
          borrowed.spec.workspaces.push(pushBinding);
        } else {
          const binding = borrowed.spec.workspaces.find(
            (w: any) => w.name === WORKSPACES.dockerConfig,
          );
          assert.equal(binding.secret.secretName, secretName);
          binding.secret.secretName = "registry-credentials";
        }
        assert.deepEqual(denials(policy, borrowed), [
          message(mr, "spec.workspaces must be exactly"),
        ]);
      });

      it("refuses build-merge-request paired with tekton-build-push", () => {
        const run = mrRun();
        run.spec.taskRunSpecs.unshift({
          pipelineTaskName: "build-merge-request",
          serviceAccountName: "tekton-build-push",
        });
        assert.deepEqual(denials(policy, run), [message(mr, "spec.taskRunSpecs must be exactly")]);
      });

      it("refuses the merge request pipeline with the push run's workspaces (git-write)", () => {
        const run = pushRun();
        run.spec.pipelineRef.name = mr;
        run.spec.params = mrRun().spec.params;
        run.spec.taskRunSpecs = mrRun().spec.taskRunSpecs;
        assert.deepEqual(denials(policy, run), [message(mr, "spec.workspaces must be exactly")]);
        const added = mrRun();
        added.spec.workspaces.push(
          pushRun().spec.workspaces.find((w: any) => w.name === WORKSPACES.gitWrite),
        );
        assert.deepEqual(denials(policy, added), [message(mr, "spec.workspaces must be exactly")]);
      });

      it("refuses the push pipeline with the merge request run's params", () => {
        const run = pushRun();
        run.spec.params = mrRun().spec.params;
        assert.deepEqual(denials(policy, run), [message(push, "spec.params must be exactly")]);
        // The merge request run renamed to the push pipeline: its params and workspaces differ.
        const renamed = mrRun();
        renamed.spec.pipelineRef.name = push;
        const refused = denials(policy, renamed);
        assert.ok(
          refused.includes(message(push, "spec.params must be exactly")),
          refused.join("\n"),
        );
        assert.ok(refused.includes(message(push, "spec.workspaces must be exactly")));
      });

      it("refuses report-result paired with tekton-cancel, or any other pairing", () => {
        const run = mrRun();
        run.spec.taskRunSpecs = run.spec.taskRunSpecs.map((s: any) =>
          s.pipelineTaskName === "report-result"
            ? { ...s, serviceAccountName: "tekton-cancel" }
            : s,
        );
        assert.deepEqual(denials(policy, run), [message(mr, "spec.taskRunSpecs must be exactly")]);
        const pushPair = mrRun();
        pushPair.spec.taskRunSpecs.push({
          pipelineTaskName: "fetch-merge-request",
          serviceAccountName: "tekton-build-push",
        });
        assert.deepEqual(denials(policy, pushPair), [
          message(mr, "spec.taskRunSpecs must be exactly"),
        ]);
      });

      it("refuses any other pipeline, a missing pipelineRef and an inline pipelineSpec", () => {
        const other = mrRun();
        other.spec.pipelineRef = { name: "build-orders-merge-request" };
        assert.deepEqual(denials(policy, other), [ONE_OF]);
        const nameless = mrRun();
        nameless.spec.pipelineRef = { resolver: "git" };
        assert.ok(denials(policy, nameless).includes(ONE_OF));
        const inline = mrRun();
        delete inline.spec.pipelineRef;
        inline.spec.pipelineSpec = { tasks: [{ name: "steal", taskSpec: { steps: [] } }] };
        assert.ok(denials(policy, inline).includes(ONE_OF));
        const both = mrRun();
        both.spec.pipelineSpec = { tasks: [] };
        assert.deepEqual(denials(policy, both), [message(mr, "the listener may only create runs")]);
        const resolver = mrRun();
        resolver.spec.pipelineRef.resolver = "git";
        assert.deepEqual(denials(policy, resolver), [
          message(mr, "spec.pipelineRef must be exactly"),
        ]);
      });

      it("refuses another clone URL, ServiceAccount or podTemplate on the merge request run", () => {
        const url = mrRun();
        url.spec.params.find((p: any) => p.name === "source-url").value =
          "ssh://git@evil.example/x.git";
        assert.deepEqual(denials(policy, url), [message(mr, "spec.params must be exactly")]);
        const account = mrRun();
        account.spec.taskRunTemplate.serviceAccountName = "tekton-build-push";
        assert.deepEqual(denials(policy, account), [
          message(mr, "spec.taskRunTemplate.serviceAccountName must be"),
        ]);
        const volumes = mrRun();
        volumes.spec.taskRunTemplate.podTemplate.volumes = [
          { name: "keys", secret: { secretName: GIT_WRITE_SECRET } },
        ];
        assert.deepEqual(denials(policy, volumes), [
          message(mr, "spec.taskRunTemplate.podTemplate may only set"),
        ]);
      });
    });
  }

  it("is the push-only policy, unchanged, while mergeRequests.build is off", () => {
    const { app, ctx } = exampleApp();
    assert.equal(app.mergeRequests.build, false);
    const [policy] = listenerAdmission(listener, app, ctx);
    assert.ok(
      policy.spec.validations.every(
        (v) => !v.message.includes("merge-request") && !v.expression.includes("merge-request"),
      ),
    );
    const mrRunOff = renderedMergeRequestRun(
      exampleApp((a) => ({ ...a, mergeRequests: { build: true } })).app,
      ctx,
    );
    assert.notDeepEqual(denials(policy, mrRunOff), []);
  });

  it("admits the runs the modelled sink creates for GitLab's merge request and /retest events", () => {
    const { config, cluster, app, orders } = mergeRequestStack();
    const ctx = buildContext(config);
    const policies = config.apps.map((a) => listenerAdmission(config.listener, a, ctx)[0]);
    for (const [body, event] of [
      [mergeRequestEvent(app.sourceProject), MERGE_REQUEST_EVENT_TYPE],
      [noteEvent(app.sourceProject, "/retest"), NOTE_EVENT_TYPE],
    ] as const) {
      const outcome = deliver(cluster, { headers: mrHeaders(event, MR_TOKENS[app.name]), body });
      assert.equal(outcome.created.length, 1, event);
      const run = { ...outcome.created[0].run, metadata: { namespace: app.namespace } };
      assert.deepEqual(denials(policies[0], run), [], event);
      assert.notDeepEqual(denials(policies[1], run), [], `${event} under ${orders.name}'s policy`);
    }
  });
});

/** What Triggers creates for a merge request event: the MR template, tt.params substituted. */
function renderedMergeRequestRun(app: AppConfig, ctx: TriggerContext): any {
  const values: Record<string, string> = {
    revision: "0123456789abcdef0123456789abcdef01234567",
    "merge-request-iid": "12",
    "source-branch": "feature/login",
    "commit-label": "0123456789abcdef0123456789abcdef01234567",
  };
  const text = JSON.stringify(mergeRequestRunTemplate(app, ctx)).replace(
    /\$\(tt\.params\.([a-z-]+)\)/g,
    (_, name: string) => {
      if (!(name in values)) throw new Error(`test has no value for tt.params.${name}`);
      return values[name];
    },
  );
  const run = JSON.parse(text);
  run.metadata.namespace = app.namespace;
  return run;
}
