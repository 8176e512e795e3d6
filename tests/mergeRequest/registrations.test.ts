// What `mergeRequests.build` adds to the program's registrations (issue 21 items 1 and 4): the
// merge request Pipeline, its Tasks, the status reader's identity and the Triggers objects, all
// in the app's namespace, and a hook subscribed to merge request and comment events. Without
// it, the registrations are today's, byte for byte.
import "../harness/mocks";
import * as assert from "node:assert/strict";
import { RegisteredResource } from "../harness/mocks";
import { ProgramRun, exampleConfig, runProgram, withStructured } from "../harness/program";
import { dumpRegistrations } from "../harness/registrationDump";

const NAMESPACE = "python-hello-build";
const HOOK = "pulumi-nodejs:dynamic/gitlab:ProjectHook";
const GITLAB_TRIGGER = "tekton-gitlab:app:GitLabTrigger";
const TASK = "kubernetes:tekton.dev/v1:Task";
const PIPELINE = "kubernetes:tekton.dev/v1:Pipeline";
const SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount";
const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
const TEMPLATE = "kubernetes:triggers.tekton.dev/v1beta1:TriggerTemplate";
const BINDING = "kubernetes:triggers.tekton.dev/v1beta1:TriggerBinding";
const TRIGGER = "kubernetes:triggers.tekton.dev/v1beta1:Trigger";
const ADMISSION_POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy";

/** The objects a merge request build adds, as `<type> <namespace>/<metadata.name>`. */
const STATUS_READER = [
  `${SERVICE_ACCOUNT} ${NAMESPACE}/tekton-status-reader`,
  `${ROLE} ${NAMESPACE}/tekton-status-reader`,
  `${ROLE_BINDING} ${NAMESPACE}/tekton-status-reader`,
];
const MERGE_REQUEST_OBJECTS = [
  `${PIPELINE} ${NAMESPACE}/build-hello-python-merge-request`,
  `${TASK} ${NAMESPACE}/fetch-merge-request`,
  `${TASK} ${NAMESPACE}/build-merge-request`,
  `${TASK} ${NAMESPACE}/report-merge-request-status`,
  ...STATUS_READER,
  `${TEMPLATE} ${NAMESPACE}/hello-python-merge-request-pipelinerun`,
  `${BINDING} ${NAMESPACE}/hello-python-merge-request`,
  `${BINDING} ${NAMESPACE}/hello-python-merge-request-note`,
  `${TRIGGER} ${NAMESPACE}/hello-python-gitlab-merge-request`,
  `${TRIGGER} ${NAMESPACE}/hello-python-gitlab-note`,
].sort();

const objectKey = (r: RegisteredResource) =>
  `${r.type} ${r.inputs.metadata?.namespace}/${r.inputs.metadata?.name}`;

const withMergeRequests = (mergeRequests: unknown, edit: (app: any) => void = () => undefined) =>
  withStructured(exampleConfig(), "apps", (apps) =>
    apps.map((app: any) => {
      const copy = { ...app, mergeRequests };
      edit(copy);
      return copy;
    }),
  );

async function run(config: Record<string, string>): Promise<ProgramRun> {
  const result = await runProgram(config);
  assert.ifError(result.error);
  return result;
}

describe("merge request builds: what the program registers", function () {
  this.timeout(60000);
  let today: ProgramRun;
  let on: ProgramRun;

  before(async () => {
    today = await run(exampleConfig());
    on = await run(withMergeRequests({ build: true }));
  });

  it("build on: the Pipeline, its 3 Tasks, the status reader and the Triggers objects, in the app's namespace", () => {
    const before = new Set(today.resources.filter((r) => r.custom).map(objectKey));
    const added = on.resources
      .filter((r) => r.custom && !before.has(objectKey(r)))
      .map(objectKey)
      .sort();
    assert.deepEqual(added, MERGE_REQUEST_OBJECTS);
    const component = on.resources.filter(
      (r) => r.type === "tekton-gitlab:app:MergeRequestPipeline",
    );
    assert.deepEqual(
      component.map((r) => r.name),
      ["hello-python"],
    );
  });

  it("build on: the hook subscribes to merge request and comment events and waits for their Triggers", () => {
    const hook = on.resources.find((r) => r.type === HOOK)!;
    assert.equal(hook.inputs.mergeRequestsEvents, true);
    assert.equal(hook.inputs.noteEvents, true);
    // Pushes as before: the same branch filter, no tag pushes.
    assert.equal(hook.inputs.pushEvents, true);
    assert.equal(hook.inputs.pushEventsBranchFilter, "main");
    assert.equal(hook.inputs.tagPushEvents, false);
    const triggers = on.resources.filter(
      (r) => r.type === TRIGGER && r.inputs.metadata.namespace === NAMESPACE,
    );
    assert.equal(triggers.length, 3);
    for (const trigger of triggers) {
      assert.ok(hook.dependencies.includes(trigger.urn), trigger.inputs.metadata.name);
    }
  });

  it("build on: nothing registered today changes but the hook, the listener's admission policy, the push filter's kind, and what waits for the status reader", () => {
    const dumpOn = new Map(dumpRegistrations(on).map((r) => [r.urn, r]));
    const reader = on.resources
      .filter((r) => STATUS_READER.includes(objectKey(r)) && r.type !== ROLE)
      .map((r) => r.urn);
    const mergeRequestTriggers = on.resources
      .filter((r) => r.type === TRIGGER && /merge-request|note/.test(r.inputs.metadata.name))
      .map((r) => r.urn);
    assert.equal(reader.length, 2);
    assert.equal(mergeRequestTriggers.length, 2);
    for (const old of dumpRegistrations(today)) {
      const now = dumpOn.get(old.urn);
      assert.ok(now, `${old.urn} is no longer registered`);
      let expected = old;
      if (old.type === HOOK) {
        expected = {
          ...old,
          dependencies: [...old.dependencies, ...mergeRequestTriggers].sort(),
          inputs: { ...old.inputs, mergeRequestsEvents: true, noteEvents: true },
        };
      } else if (old.type === ADMISSION_POLICY) {
        // It admits the merge request run as well (tests/listener/admission.test.ts).
        assert.notDeepEqual(now.inputs.spec, old.inputs.spec);
        expected = { ...old, inputs: { ...old.inputs, spec: now.inputs.spec } };
      } else if (old.type === GITLAB_TRIGGER || old.urn.includes(`::${GITLAB_TRIGGER}$`)) {
        // The run templates must not reach the listener before the account report-result runs as.
        expected = { ...old, dependencies: [...old.dependencies, ...reader].sort() };
        if (old.type === TRIGGER) {
          // The push Trigger's filter asks the event's kind, so the project's merge request and
          // comment events make it false rather than a CEL error: that term and nothing else.
          const spec = structuredClone(old.inputs.spec) as {
            interceptors: { params: { value: string }[] }[];
          };
          const filter = spec.interceptors[0].params[0];
          filter.value = filter.value.replace(
            " && body.ref == ",
            " && body.object_kind == 'push' && body.ref == ",
          );
          expected = { ...expected, inputs: { ...old.inputs, spec } };
        }
      }
      assert.deepEqual(now, expected, old.urn);
    }
  });

  it("build on without status reporting: 2 Tasks, no status reader", async () => {
    const quiet = await run(
      withMergeRequests({ build: true }, (app) => (app.statusReporting = false)),
    );
    const keys = quiet.resources.filter((r) => r.custom).map(objectKey);
    for (const name of ["fetch-merge-request", "build-merge-request"]) {
      assert.ok(keys.includes(`${TASK} ${NAMESPACE}/${name}`), name);
    }
    assert.ok(!keys.includes(`${TASK} ${NAMESPACE}/report-merge-request-status`));
    for (const reader of STATUS_READER) assert.ok(!keys.includes(reader), reader);
    assert.ok(keys.includes(`${PIPELINE} ${NAMESPACE}/build-hello-python-merge-request`));
  });

  it("registrySecretName registers nothing more: the Secret is the operator's, only bound", async () => {
    const named = await run(
      withMergeRequests({ build: true, push: true, registrySecretName: "mr-registry" }),
    );
    const keys = (r: ProgramRun) =>
      r.resources
        .filter((x) => x.custom)
        .map(objectKey)
        .sort();
    assert.deepEqual(keys(named), keys(on));
    assert.ok(
      !named.resources.some((r) => r.inputs.metadata?.name === "mr-registry"),
      "a Secret named mr-registry was registered",
    );
    const template = named.resources.find(
      (r) =>
        r.type === TEMPLATE && r.inputs.metadata.name === "hello-python-merge-request-pipelinerun",
    )!;
    const runSpec = template.inputs.spec.resourcetemplates[0].spec;
    assert.deepEqual(runSpec.workspaces.find((w: any) => w.name === "docker-config")?.secret, {
      secretName: "mr-registry",
      items: [{ key: ".dockerconfigjson", path: "config.json" }],
    });
    // Without it, the merge request run binds no registry Secret at all.
    const bare = on.resources.find(
      (r) =>
        r.type === TEMPLATE && r.inputs.metadata.name === "hello-python-merge-request-pipelinerun",
    )!;
    assert.ok(!JSON.stringify(bare.inputs).includes("docker-config"));
    assert.ok(!JSON.stringify(bare.inputs).includes("registry-credentials"));
  });

  it("build off (push and retestComment set): exactly today's registrations", async () => {
    const off = await run(withMergeRequests({ build: false, push: true, retestComment: "/again" }));
    // Registration order follows promise resolution; the engine keys by URN.
    const byUrn = (r: ProgramRun) =>
      dumpRegistrations(r).sort((a, b) => a.urn.localeCompare(b.urn));
    assert.deepEqual(byUrn(off), byUrn(today));
    assert.ok(!off.resources.some((r) => r.type === "tekton-gitlab:app:MergeRequestPipeline"));
    const hook = off.resources.find((r) => r.type === HOOK)!;
    assert.equal(hook.inputs.mergeRequestsEvents, false);
    assert.equal(hook.inputs.noteEvents, undefined);
  });
});
