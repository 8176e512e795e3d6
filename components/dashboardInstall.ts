import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TektonConfig } from "../config/schema";
import {
  DASHBOARD_INGRESS,
  DASHBOARD_NAMESPACE,
  DASHBOARD_PORT,
  DASHBOARD_SERVICE,
  dashboardBaseUrl,
  dashboardReleaseUrl,
} from "../tekton/dashboard";
import { retainCustomResourceDefinitions } from "./tektonInstall";

export interface DashboardInstallArgs {
  tekton: TektonConfig;
  /** The Tekton Pipelines release: it creates the namespace the read-only release goes into. */
  pipelines: pulumi.Resource;
}

/**
 * Installs the pinned read-only Tekton Dashboard and, with `tekton.dashboard.ingress`, an
 * Ingress with TLS in front of it. The dashboard has no authentication of its own (README,
 * "Tekton Dashboard"): the Ingress's annotations put an authenticating proxy in front.
 */
export class DashboardInstall extends pulumi.ComponentResource {
  public readonly version: string;
  /** Base URL for status links, no trailing slash; undefined when none is known. */
  public readonly url?: string;
  public readonly ingress?: k8s.networking.v1.Ingress;

  constructor(name: string, args: DashboardInstallArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tekton-gitlab:tekton:DashboardInstall", name, {}, opts);
    const dashboard = args.tekton.dashboard;
    this.version = dashboard.version;
    this.url = dashboardBaseUrl(args.tekton);
    const release = new k8s.yaml.v2.ConfigFile(
      name,
      { file: dashboardReleaseUrl(args.tekton.releaseBaseUrl, this.version) },
      // The release's Extension CRD (config/202-extension-crd.yaml) is kept on delete like Tekton's.
      { parent: this, dependsOn: [args.pipelines], transforms: [retainCustomResourceDefinitions] },
    );
    const ingress = dashboard.ingress;
    if (ingress !== undefined) {
      // config/schema.ts requires tlsSecretName with an ingress: never served without TLS.
      this.ingress = new k8s.networking.v1.Ingress(
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
        { parent: this, dependsOn: [release] },
      );
    }
    this.registerOutputs({ version: this.version, url: this.url });
  }
}
