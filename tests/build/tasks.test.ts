import * as assert from "node:assert/strict";
import { pinnedImageError } from "../../config/validators";
import { INSECURE_REGISTRY_ANNOTATION, REGISTRY_CA_KEY } from "../../tekton/core/names";
import { buildPipeline } from "../../tekton/build/pipeline";
import { renderManifests } from "../../tekton/render";
import { buildAndPushTask } from "../../tekton/build/buildTask";
import { buildTasks } from "../../tekton/build/tasks";
import { generateImageTagTask } from "../../tekton/build/tagTask";
import { patchDeploymentTask } from "../../tekton/build/patchTask";
import { STEP_USER_ID } from "../../tekton/core/steps";
import { TASK_NAMES } from "../../tekton/build/common";
import { Task } from "../../tekton/core/types";
import { appAndContext, envOf, multiAppStack, stack, stepNamed } from "./helpers";

const paramNames = (task: Task) => task.spec.params.map((p) => p.name);
const workspaceNames = (task: Task) => task.spec.workspaces.map((w) => w.name);

/** Every config variant the builders branch on. */
const VARIANTS = {
  example: stack(),
  anonymous: stack({ registry: ({ username: _u, ...rest }) => rest }),
  noCa: stack({ registry: ({ caCert: _c, ...rest }) => rest }),
  insecure: stack({
    registry: ({ caCert: _c, ...rest }) => ({ ...rest, insecure: true }),
  }),
  plainHttp: stack({
    registry: ({ caCert: _c, ...rest }) => ({ ...rest, plainHttp: true }),
  }),
  customPort: stack({
    gitSsh: (ssh) => ({
      ...ssh,
      port: 2222,
      knownHosts: ssh.knownHosts.replace(/^(\S+)/gm, `[$1]:2222`),
    }),
  }),
  multiApp: multiAppStack(),
};

describe("build pipeline Tasks", function () {
  it("are the contract's three Tasks, the status Task and cancel-superseded, in the app's namespace with its labels", () => {
    const { app, ctx } = appAndContext();
    const tasks = buildTasks(app, ctx);
    assert.deepEqual(
      tasks.map((t) => [t.apiVersion, t.kind, t.metadata.name, t.metadata.namespace]),
      [
        ["tekton.dev/v1", "Task", "generate-image-tag", "python-hello-build"],
        ["tekton.dev/v1", "Task", "build-and-push", "python-hello-build"],
        ["tekton.dev/v1", "Task", "patch-deployment", "python-hello-build"],
        ["tekton.dev/v1", "Task", "report-build-status", "python-hello-build"],
        ["tekton.dev/v1", "Task", "cancel-superseded", "python-hello-build"],
      ],
    );
    for (const task of tasks) {
      assert.equal(task.metadata.labels?.["app.kubernetes.io/part-of"], "hello-python");
    }
  });

  describe("generate-image-tag", () => {
    const { app, ctx } = appAndContext();
    const task = generateImageTagTask(app, ctx);
    const step = stepNamed(task, "clone-and-tag");

    it("takes the URL, commit and image name as params and emits image-url and commit-sha", () => {
      assert.deepEqual(paramNames(task), [
        "source-url",
        "revision",
        "source-branch",
        "registry-host",
        "image-repository",
      ]);
      assert.deepEqual(
        task.spec.results?.map((r) => r.name),
        ["image-url", "commit-sha"],
      );
      assert.deepEqual(workspaceNames(task), ["source", "git-pull-ssh"]);
      const pull = task.spec.workspaces.find((w) => w.name === "git-pull-ssh");
      assert.equal(pull?.readOnly, true);
    });

    it("hands every param to the script through env", () => {
      assert.deepEqual(envOf(step), {
        SOURCE_URL: "$(params.source-url)",
        REVISION: "$(params.revision)",
        SOURCE_BRANCH: "$(params.source-branch)",
        REGISTRY_HOST: "$(params.registry-host)",
        IMAGE_REPOSITORY: "$(params.image-repository)",
        RUN_UID: "$(context.taskRun.uid)",
        CHECKOUT: "$(workspaces.source.path)/src",
        SSH_KEY: "$(workspaces.git-pull-ssh.path)/ssh-privatekey",
        KNOWN_HOSTS: "$(workspaces.git-pull-ssh.path)/known_hosts",
      });
    });

    it("writes both results with printf to Tekton's result paths", () => {
      assert.match(step.script!, /printf '%s' "[^"]+" > "\$\(results\.image-url\.path\)"/);
      assert.match(step.script!, /printf '%s' "\$COMMIT" > "\$\(results\.commit-sha\.path\)"/);
      assert.doesNotMatch(step.script!, /\/tekton\/results/);
    });

    it("verifies host keys strictly and never accepts new ones", () => {
      assert.match(step.script!, /StrictHostKeyChecking=yes/);
      assert.match(step.script!, /UserKnownHostsFile=\$KNOWN_HOSTS /);
      assert.doesNotMatch(step.script!, /\$HOME\/\.ssh/, "no reliance on credential init");
      assert.doesNotMatch(step.script!, /accept-new|StrictHostKeyChecking=no|ssh-keyscan/);
    });

    it("runs as a non-root user with a writable HOME for git", () => {
      assert.equal(task.spec.stepTemplate?.securityContext?.runAsUser, STEP_USER_ID);
      assert.equal(task.spec.stepTemplate?.securityContext?.runAsNonRoot, true);
      assert.equal(task.spec.stepTemplate?.securityContext?.allowPrivilegeEscalation, false);
      assert.deepEqual(task.spec.stepTemplate?.env, [{ name: "HOME", value: "/tekton/home" }]);
      assert.equal(step.image, ctx.images.git);
    });
  });

  describe("build-and-push", () => {
    const step = (task: Task) => stepNamed(task, "build-and-push");

    it("runs Kaniko on the checkout and writes the pushed digest to its result", () => {
      const { app, ctx } = appAndContext();
      const task = buildAndPushTask(app, ctx);
      assert.equal(step(task).image, ctx.images.kaniko);
      assert.match(ctx.images.kaniko, /^ghcr\.io\/osscontainertools\/kaniko:v1\.28\.\d+$/);
      // Named, so the controller need not look the entrypoint up in the registry.
      assert.deepEqual(step(task).command, ["/kaniko/executor"]);
      assert.deepEqual(step(task).args?.slice(0, 4), [
        "--dockerfile=$(workspaces.source.path)/src/$(params.dockerfile)",
        "--context=$(workspaces.source.path)/src/$(params.context-dir)",
        "--destination=$(params.image-url)",
        "--digest-file=$(results.IMAGE_DIGEST.path)",
      ]);
      assert.equal(step(task).script, undefined);
    });

    it("emits IMAGE_URL and IMAGE_DIGEST, the results Tekton Chains reads as the built image", () => {
      const { app, ctx } = appAndContext();
      const task = buildAndPushTask(app, ctx);
      // tektoncd/chains v0.29.2 pkg/artifacts/signable.go OCIImageURLResultName /
      // OCIImageDigestResultName: a TaskRun with both results is an image Chains signs.
      assert.deepEqual(
        task.spec.results?.map((r) => r.name),
        ["IMAGE_URL", "IMAGE_DIGEST"],
      );
      // Kaniko's image has no shell: a step before it writes the URL it is about to push.
      const urlStep = stepNamed(task, "image-url");
      assert.equal(task.spec.steps[0], urlStep);
      assert.equal(urlStep.image, ctx.images.git);
      assert.equal(envOf(urlStep).IMAGE_URL, "$(params.image-url)");
      assert.match(urlStep.script!, /printf '%s' "\$IMAGE_URL" > "\$\(results\.IMAGE_URL\.path\)"/);
      assert.equal(urlStep.securityContext?.runAsNonRoot, true);
      // It never sees the registry credentials (step-level workspaces: only Kaniko lists them).
      assert.equal(urlStep.workspaces?.length ?? 0, 0);
      assert.ok(!JSON.stringify(urlStep).includes("docker-config"));
    });

    it("caches layers in <registry>/<imageRepository>/cache with a TTL, by default", () => {
      const { app, ctx } = appAndContext();
      const task = buildAndPushTask(app, ctx);
      const args = step(task).args ?? [];
      // Host and repository come in as params (Tasks hard-code nothing from config); the
      // Pipeline's defaults are registry.host and <imageRepository>/cache.
      assert.ok(paramNames(task).includes("registry-host"));
      assert.ok(paramNames(task).includes("cache-repository"));
      const pipeline = buildPipeline(app, ctx);
      const defaults = Object.fromEntries(pipeline.spec.params.map((p) => [p.name, p.default]));
      assert.equal(defaults["cache-repository"], `${app.imageRepository}/cache`);
      assert.equal(defaults["registry-host"], ctx.registry.host);
      for (const flag of [
        "--cache=true",
        "--cache-repo=$(params.registry-host)/$(params.cache-repository)",
        "--cache-ttl=168h",
        "--snapshot-mode=redo",
      ]) {
        assert.ok(args.includes(flag), `${flag} in ${args.join(" ")}`);
      }
    });

    it("takes a per-app cache repository and TTL, and can switch the cache off", () => {
      const custom = appAndContext({
        apps: ([a]) => [
          { ...a, build: { cache: { repository: "team/shared-cache", ttl: "24h" } } },
        ],
      });
      const args = step(buildAndPushTask(custom.app, custom.ctx)).args ?? [];
      const customPipeline = buildPipeline(custom.app, custom.ctx);
      assert.equal(
        customPipeline.spec.params.find((p) => p.name === "cache-repository")?.default,
        "team/shared-cache",
      );
      assert.ok(args.includes("--cache-ttl=24h"));

      const off = appAndContext({
        apps: ([a]) => [{ ...a, build: { cache: { enabled: false } } }],
      });
      const offTask = buildAndPushTask(off.app, off.ctx);
      const offArgs = step(offTask).args ?? [];
      assert.ok(!offArgs.some((arg) => arg.startsWith("--cache")), offArgs.join(" "));
      assert.ok(!paramNames(offTask).includes("cache-repository"));
      const offPipeline = buildPipeline(off.app, off.ctx);
      assert.ok(!offPipeline.spec.params.some((p) => p.name === "cache-repository"));
      // The snapshot mode is not about the cache: it stays.
      assert.ok(offArgs.includes("--snapshot-mode=redo"));
    });

    it("applies the registry's trust flags to the cache repository, which is on the same host", () => {
      // One param names the host of the image, of the cache and of the trust flags.
      const plain = appAndContext({
        registry: ({ caCert: _c, ...r }) => ({ ...r, plainHttp: true }),
      });
      const args = step(buildAndPushTask(plain.app, plain.ctx)).args ?? [];
      assert.ok(args.includes("--cache-repo=$(params.registry-host)/$(params.cache-repository)"));
      assert.ok(args.includes("--insecure-registry=$(params.registry-host)"));
      const ca = appAndContext();
      const caArgs = step(buildAndPushTask(ca.app, ca.ctx)).args ?? [];
      assert.ok(caArgs.includes("--cache-repo=$(params.registry-host)/$(params.cache-repository)"));
      assert.ok(
        caArgs.some((a) => a.startsWith("--registry-certificate=$(params.registry-host)=")),
      );
    });

    it("is never privileged; runs as root only because Kaniko must", () => {
      const { app, ctx } = appAndContext();
      const securityContext = step(buildAndPushTask(app, ctx)).securityContext;
      assert.equal(securityContext?.privileged, false);
      assert.equal(securityContext?.allowPrivilegeEscalation, false);
      assert.equal(securityContext?.runAsUser, 0);
    });

    it("reads registry credentials from the docker-config workspace when a user is set", () => {
      const { app, ctx } = appAndContext();
      const task = buildAndPushTask(app, ctx);
      assert.ok(workspaceNames(task).includes("docker-config"));
      assert.deepEqual(step(task).env, [
        { name: "DOCKER_CONFIG", value: "$(workspaces.docker-config.path)" },
      ]);
    });

    it("declares no docker-config workspace for an anonymous registry", () => {
      const { app, ctx } = appAndContext({ registry: ({ username: _u, ...rest }) => rest });
      const task = buildAndPushTask(app, ctx);
      assert.ok(!workspaceNames(task).includes("docker-config"));
      assert.equal(step(task).env, undefined);
    });

    it("trusts the configured CA for the registry host", () => {
      const { app, ctx } = appAndContext();
      const task = buildAndPushTask(app, ctx);
      assert.ok(workspaceNames(task).includes("registry-ca"));
      assert.ok(paramNames(task).includes("registry-host"));
      assert.ok(
        step(task).args?.includes(
          `--registry-certificate=$(params.registry-host)=$(workspaces.registry-ca.path)/${REGISTRY_CA_KEY}`,
        ),
      );
    });

    it("has no CA workspace, flag or host param without a CA (and without the cache)", () => {
      const { app, ctx } = appAndContext({
        registry: ({ caCert: _c, ...rest }) => rest,
        apps: ([a]) => [{ ...a, build: { cache: { enabled: false } } }],
      });
      const task = buildAndPushTask(app, ctx);
      assert.ok(!workspaceNames(task).includes("registry-ca"));
      assert.ok(!paramNames(task).includes("registry-host"));
      assert.ok(!step(task).args?.some((arg) => arg.startsWith("--registry-certificate")));
    });

    it("gives Kaniko memory and CPU requests and a memory limit, per app from config", () => {
      const { app, ctx } = appAndContext();
      assert.deepEqual(step(buildAndPushTask(app, ctx)).computeResources, {
        requests: { cpu: "500m", memory: "1Gi" },
        limits: { memory: "4Gi" },
      });
      const big = appAndContext({
        apps: ([a]) => [{ ...a, build: { resources: { limits: { memory: "12Gi", cpu: "4" } } } }],
      });
      assert.deepEqual(step(buildAndPushTask(big.app, big.ctx)).computeResources, {
        requests: { cpu: "500m", memory: "1Gi" },
        limits: { memory: "12Gi", cpu: "4" },
      });
    });

    it("talks plain HTTP to the registry only with plainHttp, and to that host only", () => {
      const secure = appAndContext();
      assert.ok(
        !step(buildAndPushTask(secure.app, secure.ctx)).args?.some((a) =>
          a.startsWith("--insecure"),
        ),
      );

      const plain = appAndContext({
        registry: ({ caCert: _c, ...r }) => ({ ...r, plainHttp: true }),
      });
      const task = buildAndPushTask(plain.app, plain.ctx);
      const args = step(task).args ?? [];
      // Kaniko (cmd/executor/cmd/root.go): --insecure-registry=<host> is plain HTTP to push
      // AND pull for that registry only; --insecure would be every push destination.
      assert.ok(args.includes("--insecure-registry=$(params.registry-host)"), args.join(" "));
      assert.ok(!args.includes("--insecure"));
      assert.ok(!args.includes("--skip-tls-verify"), "plain HTTP is not 'skip TLS verification'");
      assert.ok(paramNames(task).includes("registry-host"));
      assert.equal(task.metadata.annotations?.[INSECURE_REGISTRY_ANNOTATION], "true");
      const pipeline = buildPipeline(plain.app, plain.ctx);
      const build = pipeline.spec.tasks.find((t) => t.name === "build-and-push")!;
      assert.ok(build.params.some((p) => p.name === "registry-host"));
    });

    it("skips TLS verification only for a registry marked insecure, and says so", () => {
      const secure = appAndContext();
      const secureTask = buildAndPushTask(secure.app, secure.ctx);
      assert.ok(!step(secureTask).args?.includes("--skip-tls-verify"));
      assert.equal(secureTask.metadata.annotations?.[INSECURE_REGISTRY_ANNOTATION], "false");

      const insecure = appAndContext({ registry: (r) => ({ ...r, insecure: true }) });
      const insecureTask = buildAndPushTask(insecure.app, insecure.ctx);
      assert.ok(step(insecureTask).args?.includes("--skip-tls-verify"));
      assert.equal(insecureTask.metadata.annotations?.[INSECURE_REGISTRY_ANNOTATION], "true");
    });
  });

  describe("patch-deployment", () => {
    const { app, ctx } = appAndContext();
    const task = patchDeploymentTask(app, ctx);

    it("takes the build's outputs as params; reads the source checkout, read only", () => {
      assert.deepEqual(paramNames(task), [
        "operations-url",
        "operations-branch",
        "deployment-file",
        "container-name",
        "image-url",
        "image-digest",
        "commit-sha",
      ]);
      assert.deepEqual(workspaceNames(task), ["operations", "source", "git-write-ssh"]);
      const source = task.spec.workspaces?.find((w) => w.name === "source");
      assert.equal(source?.readOnly, true);
      assert.equal(
        envOf(stepNamed(task, "commit-and-push")).SOURCE,
        "$(workspaces.source.path)/src",
      );
    });

    it("clones and pushes with the git-write key only, host keys pinned", () => {
      for (const name of ["clone", "commit-and-push"]) {
        const step = stepNamed(task, name);
        assert.equal(step.image, ctx.images.git);
        assert.equal(envOf(step).SSH_KEY, "$(workspaces.git-write-ssh.path)/ssh-privatekey");
        assert.equal(envOf(step).KNOWN_HOSTS, "$(workspaces.git-write-ssh.path)/known_hosts");
        assert.match(step.script!, /chmod 600 "\$KEY_FILE"/);
        assert.deepEqual(step.workspaces, [{ name: "git-write-ssh" }]);
        assert.match(
          step.script!,
          /GIT_SSH_COMMAND="ssh -F none -i \$KEY_FILE -o IdentitiesOnly=yes -o UserKnownHostsFile=\$KNOWN_HOSTS .*-o StrictHostKeyChecking=yes/,
        );
      }
    });

    it("sets the container's image by digest with a bash script in the kubectl image", () => {
      const step = stepNamed(task, "set-image");
      assert.equal(step.image, ctx.images.kubectl);
      // The image's entrypoint is kubectl itself; Tekton runs the script instead.
      assert.equal(step.command, undefined);
      assert.equal(step.args, undefined);
      assert.match(step.script!, /^#!\/bin\/bash\nset -euo pipefail\n/);
      assert.match(step.script!, /done < "\$CHECKOUT\/\$DEPLOYMENT_FILE"\n/);
      assert.match(step.script!, /printf '%s' "\$\{pieces\[@\]\}" > "\$PATCHED"\n/);
      assert.match(
        step.script!,
        /kubectl set image --local -f - "\$CONTAINER_NAME=\$IMAGE_URL@\$IMAGE_DIGEST" -o yaml 2>"\$ERRORS" <<< /,
      );
      assert.deepEqual(envOf(step), {
        DEPLOYMENT_FILE: "$(params.deployment-file)",
        CONTAINER_NAME: "$(params.container-name)",
        IMAGE_URL: "$(params.image-url)",
        IMAGE_DIGEST: "$(params.image-digest)",
        CHECKOUT: "$(workspaces.operations.path)/repo",
        PATCHED: "$(workspaces.operations.path)/patched-deployment.yaml",
      });
    });

    it("mounts the write key into the git steps only: set-image never sees it", () => {
      // Tekton mounts a workspace some step lists into the listing steps only
      // (pipeline v1.15.0 pkg/workspace/apply.go mountAsIsolatedWorkspace).
      assert.equal(stepNamed(task, "set-image").workspaces, undefined);
      const listing = task.spec.steps.filter((s) =>
        (s.workspaces ?? []).some((w) => w.name === "git-write-ssh"),
      );
      assert.deepEqual(
        listing.map((s) => s.name),
        ["clone", "commit-and-push"],
      );
    });

    it("runs clone, set-image and commit-and-push in that order as a non-root user", () => {
      assert.deepEqual(
        task.spec.steps.map((s) => s.name),
        ["clone", "set-image", "commit-and-push"],
      );
      assert.equal(task.spec.stepTemplate?.securityContext?.runAsUser, STEP_USER_ID);
      assert.ok(task.spec.steps.every((s) => s.securityContext === undefined));
    });

    it("hands the source commit and the pushed image to the commit step through env", () => {
      const commit = envOf(stepNamed(task, "commit-and-push"));
      assert.equal(commit.COMMIT_SHA, "$(params.commit-sha)");
      // The image's tag orders builds: the step never replaces a newer one.
      assert.equal(commit.IMAGE_URL, "$(params.image-url)");
      assert.equal(commit.IMAGE_DIGEST, "$(params.image-digest)");
    });
  });

  describe("in every config variant", () => {
    for (const [variant, config] of Object.entries(VARIANTS)) {
      const manifests = renderManifests(config).map((m) => m.manifest);
      const tasks = manifests.filter((m): m is Task => m.kind === "Task");

      it(`${variant}: no script contains $(params. (params reach scripts only through env)`, () => {
        const offending = tasks.flatMap((task) =>
          task.spec.steps
            .filter((step) => step.script?.includes("$(params."))
            .map((step) => `${task.metadata.namespace}/${task.metadata.name}/${step.name}`),
        );
        assert.deepEqual(offending, []);
        assert.ok(tasks.some((task) => task.spec.steps.some((step) => step.script)));
      });

      it(`${variant}: every step image is a pinned image from the images config`, () => {
        const allowed = new Set(Object.values(config.images));
        for (const task of tasks) {
          for (const step of task.spec.steps) {
            assert.ok(allowed.has(step.image), `${task.metadata.name}/${step.name}: ${step.image}`);
            assert.equal(pinnedImageError(step.image), undefined, step.image);
          }
        }
      });

      it(`${variant}: Tasks hard-code no host, registry or repository from config`, () => {
        const text = JSON.stringify(tasks);
        assert.ok(!text.includes(config.gitSsh.host), "git host");
        assert.ok(!text.includes(config.registry.host), "registry host");
        for (const app of config.apps) {
          assert.ok(!text.includes(app.imageRepository), app.imageRepository);
          assert.ok(!text.includes(app.sourceProject), app.sourceProject);
          assert.ok(!text.includes(app.deploymentFile), app.deploymentFile);
        }
      });
    }
  });

  it("uses the images configured under tekton-gitlab:images", () => {
    const images = {
      git: "registry.example.com/mirror/git:2.52.0",
      kaniko: "registry.example.com/mirror/kaniko@sha256:" + "a".repeat(64),
      kubectl: "registry.example.com/mirror/kubectl:v1.36.4",
      curl: "registry.example.com/mirror/curl:8.21.0",
    };
    const { app, ctx } = appAndContext({ images: () => images });
    const byTask = Object.fromEntries(
      buildTasks(app, ctx).map((t) => [t.metadata.name, t.spec.steps.map((s) => s.image)]),
    );
    assert.deepEqual(byTask, {
      [TASK_NAMES.tag]: [images.git],
      [TASK_NAMES.build]: [images.git, images.kaniko],
      [TASK_NAMES.patch]: [images.git, images.kubectl, images.git],
      "report-build-status": [images.curl],
      "cancel-superseded": [images.kubectl],
    });
  });
});
