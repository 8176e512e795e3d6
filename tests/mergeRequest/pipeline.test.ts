// The merge request Pipeline as wired (issue 21 items 4, 5 and 6): nothing of it can deploy, its
// Kaniko arguments exactly, its status name, ref and identity, and the per-merge-request cancel,
// modelled by evaluating the cancel tasks' label selectors against the runs the two
// TriggerTemplates create.
import * as assert from "node:assert/strict";
import { AppConfig } from "../../config/schema";
import { BuildContext } from "../../tekton/build/context";
import { pipelineRunTemplate } from "../../tekton/listener/triggers";
import { supersededSelector } from "../../tekton/cancel/cancelTask";
import { Pipeline, Task } from "../../tekton/core/types";
import { mergeRequestPipeline, mergeRequestTasks } from "../../tekton/mergeRequest/pipeline";
import { statusReaderRole, statusReaderRoleBinding } from "../../tekton/mergeRequest/rbac";
import { mergeRequestRunTemplate } from "../../tekton/mergeRequest/triggers";
import { selects } from "../harness/fakeKubeApi";
import { allPipelineTasks as allTasks, appAndContext, StackEdits } from "../build/helpers";

const PIPELINE = "build-hello-python-merge-request";

function mergeRequestBuild(
  mergeRequests: Record<string, unknown>,
  edits: (app: any) => void = () => undefined,
  stack: Omit<StackEdits, "apps"> = {},
): { app: AppConfig; ctx: BuildContext; pipeline: Pipeline; tasks: Task[] } {
  const { app, ctx } = appAndContext({
    ...stack,
    apps: ([a]) => {
      const copy = { ...a, mergeRequests: { build: true, ...mergeRequests } };
      edits(copy);
      return [copy];
    },
  });
  return { app, ctx, pipeline: mergeRequestPipeline(app, ctx), tasks: mergeRequestTasks(app, ctx) };
}

const taskNamed = (tasks: Task[], name: string) => {
  const found = tasks.find((t) => t.metadata.name === name);
  assert.ok(found, `no Task ${name}`);
  return found;
};
const kanikoOf = (task: Task) => {
  const kaniko = task.spec.steps.filter((s) => s.command?.[0] === "/kaniko/executor");
  assert.equal(kaniko.length, 1);
  return kaniko[0];
};

describe("merge request Pipeline: nothing of it deploys", () => {
  // With push and the example registry's username, registrySecretName is required (config).
  const CASES: { push: boolean; registrySecretName?: string; label: string }[] = [
    { push: false, label: "push: false" },
    { push: false, registrySecretName: "mr-registry", label: "push: false, registrySecretName" },
    { push: true, registrySecretName: "mr-registry", label: "push: true" },
  ];
  for (const { push, registrySecretName, label } of CASES) {
    it(`binds neither git-write nor operations, in any task or declaration (${label})`, () => {
      const { pipeline, tasks, ctx, app } = mergeRequestBuild({ push, registrySecretName });
      assert.equal(pipeline.metadata.name, PIPELINE);
      const declared = pipeline.spec.workspaces.map((w) => w.name);
      // docker-config only for the Secret named for merge requests, never by default.
      assert.deepEqual(declared, [
        "source",
        "git-pull-ssh",
        ...(registrySecretName === undefined ? [] : ["docker-config"]),
        "registry-ca",
        "gitlab-status-token",
      ]);
      for (const task of allTasks(pipeline)) {
        const bound = task.workspaces.flatMap((w) => [w.name, w.workspace]);
        for (const deployOnly of ["git-write-ssh", "operations"]) {
          assert.ok(!bound.includes(deployOnly), `${task.name} binds ${deployOnly}`);
        }
      }
      for (const task of tasks) {
        const names = task.spec.workspaces.map((w) => w.name);
        assert.ok(!names.includes("git-write-ssh"), task.metadata.name);
        assert.ok(!names.includes("operations"), task.metadata.name);
      }
      // Nor the run: the TriggerTemplate binds no git-write Secret and no operations checkout.
      const run = mergeRequestRunTemplate(app, ctx);
      assert.deepEqual(
        run.spec.workspaces.map((w) => w.name),
        declared,
      );
      assert.ok(!JSON.stringify(run).includes("git-write"), "the run names git-write");
      assert.ok(!JSON.stringify(pipeline).includes("operations-url"));
      // Nor the push build's registry Secret: docker-config is the named one, or absent.
      assert.ok(!JSON.stringify(run).includes("registry-credentials"), "the run names it");
      assert.deepEqual(
        run.spec.workspaces.find((w) => w.name === "docker-config"),
        registrySecretName === undefined
          ? undefined
          : {
              name: "docker-config",
              secret: {
                secretName: registrySecretName,
                items: [{ key: ".dockerconfigjson", path: "config.json" }],
              },
            },
      );
    });
  }

  it("an anonymous registry with push: true needs no registrySecretName, and binds none", () => {
    const { pipeline, app, ctx, tasks } = mergeRequestBuild({ push: true }, () => undefined, {
      registry: ({ username: _u, ...r }) => r,
    });
    assert.equal(app.mergeRequests.registrySecretName, undefined);
    assert.deepEqual(
      pipeline.spec.workspaces.map((w) => w.name),
      ["source", "git-pull-ssh", "registry-ca", "gitlab-status-token"],
    );
    const build = taskNamed(tasks, "build-merge-request");
    assert.ok(!build.spec.workspaces.some((w) => w.name === "docker-config"));
    assert.ok(!(kanikoOf(build).env ?? []).some((e) => e.name === "DOCKER_CONFIG"));
    assert.ok(!JSON.stringify(mergeRequestRunTemplate(app, ctx)).includes("docker-config"));
  });

  it("fetches, then builds: build-merge-request runs after fetch-merge-request", () => {
    const { pipeline } = mergeRequestBuild({});
    const [fetch, build] = pipeline.spec.tasks;
    assert.equal(fetch.name, "fetch-merge-request");
    assert.equal(fetch.runAfter, undefined);
    assert.deepEqual(
      fetch.workspaces.map((w) => w.workspace),
      ["source", "git-pull-ssh"],
    );
    assert.equal(build.name, "build-merge-request");
    assert.deepEqual(build.runAfter, ["fetch-merge-request"]);
    assert.deepEqual(
      pipeline.spec.tasks.map((t) => t.name),
      ["fetch-merge-request", "build-merge-request", "cancel-superseded", "report-running"],
    );
    assert.deepEqual(
      pipeline.spec.finally!.map((t) => t.name),
      ["report-result"],
    );
  });
});

describe("merge request Pipeline: Kaniko", () => {
  const CHECKOUT = "$(workspaces.source.path)/src";
  const COMMON = [
    `--dockerfile=${CHECKOUT}/$(params.dockerfile)`,
    `--context=${CHECKOUT}/$(params.context-dir)`,
  ];
  const CACHE = [
    "--cache=true",
    "--cache-repo=$(params.registry-host)/$(params.cache-repository)",
    "--cache-ttl=168h",
  ];
  const CA = "--registry-certificate=$(params.registry-host)=$(workspaces.registry-ca.path)/ca.crt";

  it("push: false: --no-push, no --destination, reads the cache and never writes it", () => {
    const { tasks, pipeline } = mergeRequestBuild({ push: false });
    const task = taskNamed(tasks, "build-merge-request");
    assert.deepEqual(
      task.spec.steps.map((s) => s.name),
      ["build"],
    );
    assert.deepEqual(kanikoOf(task).args, [
      ...COMMON,
      "--no-push",
      "--digest-file=$(results.built-digest.path)",
      "--snapshot-mode=redo",
      ...CACHE,
      "--no-push-cache",
      CA,
    ]);
    // Not IMAGE_URL / IMAGE_DIGEST: nothing was pushed for Chains to sign.
    assert.deepEqual(
      task.spec.results!.map((r) => r.name),
      ["built-digest"],
    );
    assert.ok(!task.spec.params.some((p) => p.name === "image-url"));
    const build = pipeline.spec.tasks.find((t) => t.name === "build-merge-request")!;
    assert.ok(!build.params.some((p) => p.name === "image-url"));
    assert.deepEqual(
      pipeline.spec.results!.map((r) => r.name),
      ["commit-sha"],
    );
  });

  it("push: true: --destination=$(params.image-url), fed from fetch's image-url result", () => {
    const { tasks, pipeline } = mergeRequestBuild({
      push: true,
      registrySecretName: "mr-registry",
    });
    const task = taskNamed(tasks, "build-merge-request");
    // No image-url step: that step writes IMAGE_URL, which Chains would sign.
    assert.deepEqual(
      task.spec.steps.map((s) => s.name),
      ["build-and-push"],
    );
    assert.deepEqual(kanikoOf(task).args, [
      ...COMMON,
      "--destination=$(params.image-url)",
      "--digest-file=$(results.built-digest.path)",
      "--snapshot-mode=redo",
      ...CACHE,
      "--no-push-cache",
      CA,
    ]);
    // Not IMAGE_URL / IMAGE_DIGEST: Chains must not sign a merge request's image.
    assert.deepEqual(
      task.spec.results!.map((r) => r.name),
      ["built-digest"],
    );
    const build = pipeline.spec.tasks.find((t) => t.name === "build-merge-request")!;
    assert.equal(
      build.params.find((p) => p.name === "image-url")?.value,
      "$(tasks.fetch-merge-request.results.image-url)",
    );
    const fetch = taskNamed(tasks, "fetch-merge-request");
    assert.ok(fetch.spec.results!.some((r) => r.name === "image-url"));
    assert.deepEqual(
      pipeline.spec.results!.map((r) => [r.name, r.value]),
      [
        ["commit-sha", "$(tasks.fetch-merge-request.results.commit-sha)"],
        ["image-url", "$(tasks.fetch-merge-request.results.image-url)"],
        ["image-digest", "$(tasks.build-merge-request.results.built-digest)"],
      ],
    );
    assert.ok(!JSON.stringify(pipeline).includes("IMAGE_"), "the Pipeline names IMAGE_*");
  });

  it("the build Task says its image is unsigned, with or without push", () => {
    for (const mergeRequests of [{ push: false }, { push: true, registrySecretName: "mr" }]) {
      const task = taskNamed(mergeRequestBuild(mergeRequests).tasks, "build-merge-request");
      assert.equal(task.metadata.annotations?.["tekton-gitlab.io/unsigned-image"], "true");
      assert.ok(!JSON.stringify(task).includes("IMAGE_"), JSON.stringify(mergeRequests));
    }
  });

  it("the registry Secret reaches Kaniko as DOCKER_CONFIG only when one is named", () => {
    for (const [mergeRequests, expected] of [
      [{ push: false }, undefined],
      [{ push: false, registrySecretName: "mr" }, "$(workspaces.docker-config.path)"],
      [{ push: true, registrySecretName: "mr" }, "$(workspaces.docker-config.path)"],
    ] as const) {
      const task = taskNamed(mergeRequestBuild(mergeRequests).tasks, "build-merge-request");
      const kaniko = kanikoOf(task);
      assert.equal(
        (kaniko.env ?? []).find((e) => e.name === "DOCKER_CONFIG")?.value,
        expected,
        JSON.stringify(mergeRequests),
      );
      assert.equal(
        task.spec.workspaces.some((w) => w.name === "docker-config"),
        expected !== undefined,
      );
    }
  });

  for (const push of [false, true]) {
    it(`cache off: no cache flag at all, and still no cache write (push: ${push})`, () => {
      const { tasks } = mergeRequestBuild(
        push ? { push, registrySecretName: "mr-registry" } : { push },
        (a) => (a.build = { cache: { enabled: false } }),
      );
      const args = kanikoOf(taskNamed(tasks, "build-merge-request")).args!;
      assert.ok(!args.some((arg) => arg.startsWith("--cache")), args.join(" "));
      assert.ok(!args.includes("--no-push-cache"));
      assert.equal(args.includes("--no-push"), !push);
      assert.equal(
        args.some((arg) => arg.startsWith("--destination=")),
        push,
      );
    });
  }

  it("every Kaniko argument list that reads the cache also says --no-push-cache", () => {
    for (const push of [false, true]) {
      for (const plainHttp of [false, true]) {
        const { tasks } = mergeRequestBuild(
          push ? { push, registrySecretName: "mr-registry" } : { push },
          () => undefined,
          plainHttp ? { registry: ({ caCert: _c, ...r }) => ({ ...r, plainHttp: true }) } : {},
        );
        const args = kanikoOf(taskNamed(tasks, "build-merge-request")).args!;
        assert.ok(args.includes("--cache=true"));
        assert.ok(args.includes("--no-push-cache"), `push ${push}, plainHttp ${plainHttp}`);
        assert.equal(args.filter((arg) => arg.startsWith("--destination")).length, push ? 1 : 0);
      }
    }
  });
});

describe("merge request Pipeline: its status on the merge request", () => {
  it("names it tekton/<app>/merge-request on the source branch, for both status tasks", () => {
    const { pipeline } = mergeRequestBuild({});
    for (const name of ["report-running", "report-result"]) {
      const task = allTasks(pipeline).find((t) => t.name === name)!;
      assert.equal(task.taskRef.name, "report-merge-request-status");
      const params = Object.fromEntries(task.params.map((p) => [p.name, p.value]));
      assert.equal(params["status-name"], "tekton/hello-python/merge-request", name);
      assert.equal(params.ref, "$(params.source-branch)", name);
      assert.equal(params.revision, "$(params.revision)", name);
    }
    const result = pipeline.spec.finally![0];
    const states = result.params.find((p) => p.name === "task-states")!.value;
    assert.equal(
      states,
      [
        "fetch-merge-request $(tasks.fetch-merge-request.status) $(tasks.fetch-merge-request.reason)",
        "build-merge-request $(tasks.build-merge-request.status) $(tasks.build-merge-request.reason)",
      ].join("\n"),
    );
  });

  it("report-result alone runs as tekton-status-reader, whose Role is get and list of TaskRuns", () => {
    const { app, ctx } = mergeRequestBuild({});
    const run = mergeRequestRunTemplate(app, ctx);
    assert.equal(run.spec.taskRunTemplate.serviceAccountName, "tekton-build");
    assert.deepEqual(run.spec.taskRunSpecs, [
      { pipelineTaskName: "cancel-superseded", serviceAccountName: "tekton-cancel" },
      { pipelineTaskName: "report-result", serviceAccountName: "tekton-status-reader" },
    ]);
    assert.deepEqual(statusReaderRole(app).rules, [
      { apiGroups: ["tekton.dev"], resources: ["taskruns"], verbs: ["get", "list"] },
    ]);
    const binding = statusReaderRoleBinding(app);
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "tekton-status-reader",
    });
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "tekton-status-reader", namespace: "python-hello-build" },
    ]);
  });

  it("push: true: the Kaniko task keeps tekton-build, never tekton-build-push (nothing for Chains)", () => {
    const { app, ctx } = mergeRequestBuild({ push: true, registrySecretName: "mr-registry" });
    const run = mergeRequestRunTemplate(app, ctx);
    assert.equal(run.spec.taskRunTemplate.serviceAccountName, "tekton-build");
    assert.deepEqual(run.spec.taskRunSpecs, [
      { pipelineTaskName: "cancel-superseded", serviceAccountName: "tekton-cancel" },
      { pipelineTaskName: "report-result", serviceAccountName: "tekton-status-reader" },
    ]);
  });
});

describe("merge request Pipeline: superseded runs are cancelled per merge request", () => {
  const { app, ctx, pipeline } = mergeRequestBuild({});
  const pushRun = pipelineRunTemplate(app, ctx);
  const mergeRequestRun = mergeRequestRunTemplate(app, ctx);
  const cancelSelector = (p: Pipeline) =>
    p.spec.tasks
      .find((t) => t.name === "cancel-superseded")!
      .params.find((p) => p.name === "selector")!.value;

  /** A run's labels once Triggers has put the binding's values in. */
  const labelsOf = (template: typeof pushRun, values: Record<string, string>) =>
    JSON.parse(
      JSON.stringify(template.metadata.labels).replace(
        /\$\(tt\.params\.([a-z-]+)\)/g,
        (_, name: string) => {
          assert.ok(name in values, `no value for tt.params.${name}`);
          return values[name];
        },
      ),
    ) as Record<string, string>;
  const commit = "0123456789abcdef0123456789abcdef01234567";
  const runs = {
    "merge request !1": labelsOf(mergeRequestRun, {
      "commit-label": commit,
      "merge-request-iid": "1",
    }),
    "merge request !2": labelsOf(mergeRequestRun, {
      "commit-label": commit,
      "merge-request-iid": "2",
    }),
    push: labelsOf(pushRun, { "commit-label": commit }),
  };

  it("the merge request run carries tekton-gitlab.io/merge-request; the push run does not", () => {
    assert.equal(
      mergeRequestRun.metadata.labels["tekton-gitlab.io/merge-request"],
      "$(tt.params.merge-request-iid)",
    );
    assert.ok(!("tekton-gitlab.io/merge-request" in pushRun.metadata.labels));
    assert.equal(
      cancelSelector(pipeline),
      "app.kubernetes.io/managed-by=tekton-gitlab,app.kubernetes.io/part-of=hello-python," +
        "tekton-gitlab.io/merge-request=$(params.merge-request-iid)",
    );
  });

  it("each cancel selects only its own merge request's runs, or only the branch's", () => {
    /** The cancel task's selector in a run of `iid`, as Tekton substitutes the param. */
    const mergeRequestSelector = (iid: string) =>
      cancelSelector(pipeline).replace("$(params.merge-request-iid)", iid);
    const selected = (selector: string) =>
      Object.entries(runs)
        .filter(([, labels]) => selects(selector, labels))
        .map(([name]) => name);
    assert.deepEqual(selected(mergeRequestSelector("1")), ["merge request !1"]);
    assert.deepEqual(selected(mergeRequestSelector("2")), ["merge request !2"]);
    // The push build's cancel task, as its Pipeline passes it.
    assert.deepEqual(selected(supersededSelector(app)), ["push"]);
  });
});
