import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TektonConfig } from "../../config/schema";
import {
  DASHBOARD_INGRESS,
  DASHBOARD_NAMESPACE,
  DASHBOARD_PORT,
  DASHBOARD_SERVICE,
  dashboardBaseUrl,
  dashboardReleaseUrl,
} from "../../tekton/cluster/dashboard";
import { retainCustomResourceDefinitions } from "./retainCrds";

export interface DashboardInstallArgs {
  tekton: TektonConfig;
  /** The Tekton Pipelines release: it creates the namespace the read-only release goes into. */
  pipelines: pulumi.Resource;
}

export interface DashboardInstall {
  version: string;
  /** Base URL for status links, no trailing slash; undefined when none is known. */
  url?: string;
  ingress?: k8s.networking.v1.Ingress;
}

/**
 * Installs the pinned read-only Tekton Dashboard and, with `tekton.dashboard.ingress`, an
 * Ingress with TLS in front of it. The dashboard has no authentication of its own (README,
 * "Tekton Dashboard"): the Ingress's annotations put an authenticating proxy in front.
 * Registered directly under TektonInstall (`parent`), like the Pruner (components/cluster/prunerInstall.ts).
 */
export function installDashboard(
  name: string,
  args: DashboardInstallArgs,
  parent: pulumi.ComponentResource,
): DashboardInstall {
  const dashboard = args.tekton.dashboard;
  const version = dashboard.version;
  const url = dashboardBaseUrl(args.tekton);
  const release = new k8s.yaml.v2.ConfigFile(
    name,
    { file: dashboardReleaseUrl(args.tekton.releaseBaseUrl, version) },
    // The release's Extension CRD (config/202-extension-crd.yaml) is kept on delete like Tekton's.
    { parent, dependsOn: [args.pipelines], transforms: [retainCustomResourceDefinitions] },
  );
  const ingress = dashboard.ingress;
  if (ingress === undefined) return { version, url };
  // config/schema.ts requires tlsSecretName with an ingress: never served without TLS.
  const resource = new k8s.networking.v1.Ingress(
    `${name}-ingress`,
    {
      metadata: {
        name: DASHBOARD_INGRESS,
        namespace: DASHBOARD_NAMESPACE,
        labels: { "app.kubernetes.io/managed-by": "tekton-gitlab" },
        annotations: ingress.annotations,
      },
      spec: {
        ingressClassName: ingress.className,
        tls: [{ hosts: [ingress.host], secretName: ingress.tlsSecretName }],
        rules: [
          {
            host: ingress.host,
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: {
                    service: { name: DASHBOARD_SERVICE, port: { number: DASHBOARD_PORT } },
                  },
                },
              ],
            },
          },
        ],
      },
    },
    { parent, dependsOn: [release] },
  );
  return { version, url, ingress: resource };
}
