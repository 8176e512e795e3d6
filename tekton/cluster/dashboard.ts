// Tekton Dashboard, as this stack installs it and links to it. Pure values;
// components/cluster/dashboardInstall.ts registers them.
import { TektonConfig } from "../../config/schema";

/**
 * Namespace, Service and port of the release (tektoncd/dashboard v0.71.0 config/300-service.yaml:
 * Service `tekton-dashboard`, port `http` 9097; scripts/installer rewrites the kustomization's
 * namespace to INSTALL_NAMESPACE, "tekton-pipelines"). The read-only release.yaml carries no
 * Namespace object (scripts/installer `additionalResources` adds config/100-namespace.yaml only
 * for read/write): it goes into the namespace the Pipelines release creates.
 */
export const DASHBOARD_NAMESPACE = "tekton-pipelines";
export const DASHBOARD_SERVICE = "tekton-dashboard";
export const DASHBOARD_PORT = 9097;
/** The Ingress the stack creates with `tekton.dashboard.ingress`. */
export const DASHBOARD_INGRESS = "tekton-dashboard";

/**
 * `<base>/dashboard/previous/<version>/release.yaml`: the read-only variant. tekton/publish.yaml
 * builds `release.yaml` with `scripts/installer build` (READONLY="true" by default, so the
 * Deployment gets `--read-only=true`) and `release-full.yaml` with `--read-write`; the release
 * pipeline uploads both under `dashboard/previous/<version>/` (tekton/release-pipeline.yaml
 * `publish-to-bucket`, objectPrefix `$(params.repoName)/previous/$(params.versionTag)/`).
 */
export function dashboardReleaseUrl(releaseBaseUrl: string, version: string): string {
  return `${releaseBaseUrl}/dashboard/previous/${version}/release.yaml`;
}

/**
 * The base URL status links point at (no trailing slash): `tekton.dashboard.url`, else
 * `https://<ingress.host>`, else none.
 */
export function dashboardBaseUrl(tekton: Pick<TektonConfig, "dashboard">): string | undefined {
  const { url, ingress } = tekton.dashboard;
  const base = url ?? (ingress ? `https://${ingress.host}` : undefined);
  return base?.replace(/\/+$/, "");
}

/**
 * A PipelineRun's page: the dashboard is a hash-routed single-page app
 * (src/containers/App/App.jsx `createHashRouter`), the route is
 * packages/utils/src/utils/router.js `paths.pipelineRuns.byName`:
 * `/namespaces/:namespace/pipelineruns/:name`.
 */
export function pipelineRunUrl(baseUrl: string, namespace: string, name: string): string {
  return `${baseUrl}/#/namespaces/${encodeURIComponent(namespace)}/pipelineruns/${encodeURIComponent(name)}`;
}
