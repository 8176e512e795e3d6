// tekton-gitlab: one `pulumi up` per environment gives GitLab -> Tekton -> GitOps builds.
// Config is validated first (every problem at once, nothing registered on error), then Tekton
// is installed, then the one listener every app's webhook posts to, then each app gets its
// credentials, pipeline (and, with `mergeRequests.build`, its merge request pipeline) and trigger.
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./config/load";
import { buildContext } from "./tekton/build/context";
import { TektonInstall } from "./components/cluster/tektonInstall";
import { ListenerClusterRole } from "./components/listener/listenerClusterRole";
import { SharedListener } from "./components/listener/sharedListener";
import { Application } from "./components/app/application";
import { AppCredentials } from "./components/app/appCredentials";
import { SupersededRuns } from "./components/app/supersededRuns";
import { RetentionPolicy } from "./components/app/retentionPolicy";
import { BuildPipeline } from "./components/app/buildPipeline";
import { MergeRequestPipeline } from "./components/app/mergeRequestPipeline";
import { GitLabTrigger } from "./components/app/gitlabTrigger";
import { mergeRequestStatusName } from "./tekton/mergeRequest/pipeline";
import { AppOutput } from "./outputs";

export = async () => {
  const config = loadStackConfig();
  const tekton = new TektonInstall("tekton", {
    tekton: config.tekton,
    kubectlImage: config.images.kubectl,
    registry: config.registry,
  });
  // gitSsh, registry, images, GitLab's API (for build status) and the dashboard's base URL
  // (for status links).
  const context = buildContext(config);
  // The ClusterRole the shared EventListener is bound to (no Secrets), created once per stack.
  const listenerRole = new ListenerClusterRole("listener-clusterrole", {
    stack: pulumi.getStack(),
  });
  const clusterRole = { name: listenerRole.roleName, resource: listenerRole.role };
  // One EventListener, one Service, one Ingress and one host for every app (config/load.ts
  // requires listener.host whenever there is an app).
  const listener = { ...config.listener, host: config.listener.host ?? "" };
  const shared =
    config.apps.length === 0
      ? undefined
      : new SharedListener(
          "listener",
          { listener, apps: config.apps, context, clusterRole },
          { dependsOn: tekton.ready },
        );

  // No apps, no listener: `shared` is undefined exactly when there is no app to map.
  const apps =
    shared === undefined
      ? []
      : config.apps.map((app) => {
          const parent = new Application(app.name);
          const credentials = new AppCredentials(
            app.name,
            {
              app,
              gitSsh: config.gitSsh,
              registry: config.registry,
              registryPassword: config.registryPassword,
            },
            { parent },
          );
          // Cancel-in-progress: the cancel task's ServiceAccount, Role and RoleBinding.
          const superseded = app.cancelSuperseded
            ? new SupersededRuns(app.name, { app }, { parent, dependsOn: [credentials.namespace] })
            : undefined;
          // Finished runs the pruner keeps in the build namespace; its webhook admits the config.
          if (app.retention !== undefined) {
            new RetentionPolicy(
              app.name,
              { app, retention: app.retention },
              { parent, dependsOn: [credentials.namespace, ...tekton.prunerReady] },
            );
          }
          // Tekton objects wait for Tekton's admission webhooks and for the namespace and Secrets.
          const inCluster = {
            parent,
            dependsOn: [...tekton.ready, ...credentials.ready, ...(superseded?.ready ?? [])],
          };
          const pipeline = new BuildPipeline(app.name, { app, context }, inCluster);
          // Merge request builds: built and reported on the merge request, never deployed.
          const mergeRequests = app.mergeRequests.build
            ? new MergeRequestPipeline(app.name, { app, context }, inCluster)
            : undefined;
          const trigger = new GitLabTrigger(
            app.name,
            { app, context, listener, shared },
            mergeRequests === undefined
              ? inCluster
              : { ...inCluster, dependsOn: [...inCluster.dependsOn, ...mergeRequests.ready] },
          );
          return { app, credentials, pipeline, mergeRequests, trigger };
        });

  return {
    tekton: tekton.versions
      ? {
          ...tekton.versions,
          chains: tekton.chains
            ? { version: tekton.chains.version, signingPublicKey: tekton.chains.signingPublicKey }
            : null,
          pruner: tekton.pruner ? { version: tekton.pruner.version } : null,
          dashboard: tekton.dashboard
            ? { version: tekton.dashboard.version, url: tekton.dashboard.url ?? null }
            : null,
        }
      : null,
    apps: Object.fromEntries(
      apps.map(({ app, credentials, pipeline, mergeRequests, trigger }) => {
        const output: pulumi.Output<AppOutput> = pulumi.output({
          namespace: credentials.namespaceName,
          serviceAccount: credentials.serviceAccountName,
          pipeline: pipeline.pipelineName,
          eventListener: trigger.eventListenerName,
          eventListenerNamespace: config.listener.namespace,
          webhookUrl: trigger.webhookUrl,
          webhookId: trigger.hook?.hookId ?? null,
          sourceDeployKey: {
            project: app.sourceProject,
            canPush: false,
            ...credentials.source,
            deployKeyId: credentials.source.deployKeyId ?? null,
          },
          operationsDeployKey: {
            project: app.operationsProject,
            canPush: true,
            ...credentials.operations,
            deployKeyId: credentials.operations.deployKeyId ?? null,
          },
          buildStatus: app.statusReporting.enabled
            ? {
                name: app.statusReporting.context,
                tokenSecret: app.statusReporting.secretName,
                projectAccessTokenId: credentials.statusToken?.tokenId ?? null,
                tokenExpiresAt: credentials.statusToken?.expiresAt ?? null,
              }
            : null,
          mergeRequests: {
            enabled: mergeRequests !== undefined,
            pipeline: mergeRequests?.pipelineName ?? null,
            statusName: (mergeRequests && mergeRequestStatusName(app)) ?? null,
            push: mergeRequests !== undefined && app.mergeRequests.push,
            retestComment: mergeRequests ? app.mergeRequests.retestComment : null,
          },
        });
        return [app.name, output];
      }),
    ),
    webhookTokens: pulumi.secret(
      Object.fromEntries(apps.map(({ app, trigger }) => [app.name, trigger.webhookToken])),
    ),
  };
};
