// A team's stack that builds on tekton-gitlab: it reads the build stack's outputs and lets a
// team watch the app's pipeline runs and their logs in its build namespace, nothing more.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AppOutput, StackOutputs } from "../../outputs";

export = async () => {
  const config = new pulumi.Config("tekton-gitlab-consumer");
  const appName = config.require("app");
  const team = config.require("team");
  const build = new pulumi.StackReference("build", { name: config.require("buildStack") });

  const apps = build.requireOutput("apps") as pulumi.Output<StackOutputs["apps"]>;
  const app: pulumi.Output<AppOutput> = apps.apply((all) => {
    const found = all[appName];
    if (!found) {
      throw new Error(
        `consumer:app: "${appName}" is not an app of the build stack; it has: ${Object.keys(all).join(", ")}`,
      );
    }
    return found;
  });
  const namespace = app.namespace;

  // Read-only on purpose: whoever may create a PipelineRun in the build namespace can embed
  // their own pipelineSpec, run it as the build ServiceAccount and so push with the operations
  // repo's write key. Starting builds stays with git push (the webhook).
  const role = new k8s.rbac.v1.Role("pipeline-viewer", {
    metadata: { name: `${appName}-pipeline-viewer`, namespace },
    rules: [
      {
        apiGroups: ["tekton.dev"],
        resources: ["pipelineruns", "taskruns", "pipelines", "tasks"],
        verbs: ["get", "list", "watch"],
      },
      { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] },
    ],
  });

  new k8s.rbac.v1.RoleBinding("pipeline-viewer", {
    metadata: { name: `${appName}-pipeline-viewer`, namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: team }],
  });

  const tokens = build.requireOutput("webhookTokens") as pulumi.Output<
    StackOutputs["webhookTokens"]
  >;
  // The key Tekton Chains signs this stack's images with (null without tekton.chains.install):
  // what an admission policy of this team's cluster verifies images against.
  const tekton = build.requireOutput("tekton") as pulumi.Output<StackOutputs["tekton"]>;
  const signingPublicKey = tekton.apply((t) => t?.chains?.signingPublicKey ?? null);

  return {
    namespace,
    pipeline: app.pipeline,
    signingPublicKey,
    // For teams that register the webhook by hand (manageDeployKeys: false). It stays secret:
    // the build stack exports webhook tokens as a secret output.
    webhookToken: tokens.apply((all) => all[appName]),
  };
};
