// Plain manifest types for the objects of an app's GitLab trigger: Tekton Triggers
// (triggers.tekton.dev/v1beta1), the PipelineRun its template creates (tekton.dev/v1), and the
// Kubernetes objects around them. Only the fields the stack sets are typed.

import { ObjectMeta as NamespacedMeta, Param } from "./types";

export type { Param };

/** Metadata of namespaced and cluster-scoped objects alike. */
export type ObjectMeta = Omit<NamespacedMeta, "namespace"> & { namespace?: string };

/** triggers.tekton.dev/v1beta1 TriggerBinding: event fields -> named params. */
export interface TriggerBinding {
  apiVersion: "triggers.tekton.dev/v1beta1";
  kind: "TriggerBinding";
  metadata: ObjectMeta;
  spec: { params: Param[] };
}

export interface TriggerTemplateParamSpec {
  name: string;
  description?: string;
  default?: string;
}

export type WorkspaceBinding =
  | {
      name: string;
      volumeClaimTemplate: {
        spec: {
          accessModes: string[];
          resources: { requests: { storage: string } };
          storageClassName?: string;
        };
      };
    }
  | { name: string; emptyDir: Record<string, never> }
  | {
      name: string;
      secret: {
        secretName: string;
        items?: { key: string; path: string }[];
        /** Kubernetes SecretVolumeSource.optional: a missing Secret mounts as an empty dir. */
        optional?: boolean;
      };
    }
  | { name: string; configMap: { name: string } };

/** tekton.dev/v1 PipelineRun as a TriggerTemplate resource template (named by generateName). */
export interface PipelineRunTemplate {
  apiVersion: "tekton.dev/v1";
  kind: "PipelineRun";
  metadata: {
    generateName: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: {
    pipelineRef: { name: string };
    params: Param[];
    workspaces: WorkspaceBinding[];
    taskRunTemplate: {
      serviceAccountName: string;
      podTemplate?: { securityContext?: { fsGroup?: number } };
    };
    /** Per pipeline task overrides (tekton.dev/v1 PipelineTaskRunSpec): its ServiceAccount. */
    taskRunSpecs?: { pipelineTaskName: string; serviceAccountName: string }[];
    timeouts: { pipeline: string; tasks?: string; finally?: string };
  };
}

/** triggers.tekton.dev/v1beta1 TriggerTemplate. */
export interface TriggerTemplate {
  apiVersion: "triggers.tekton.dev/v1beta1";
  kind: "TriggerTemplate";
  metadata: ObjectMeta;
  spec: {
    params: TriggerTemplateParamSpec[];
    resourcetemplates: PipelineRunTemplate[];
  };
}

export interface InterceptorParam {
  name: string;
  value: unknown;
}

export interface TriggerInterceptor {
  name?: string;
  ref: { name: string; kind: "ClusterInterceptor" };
  params: InterceptorParam[];
}

/** A Trigger's (or EventListener trigger's) interceptors, bindings and template. */
export interface TriggerSpec {
  interceptors: TriggerInterceptor[];
  bindings: { ref: string; kind: "TriggerBinding" }[];
  template: { ref: string };
}

/** triggers.tekton.dev/v1beta1 Trigger: one app's route, in the app's namespace. */
export interface Trigger {
  apiVersion: "triggers.tekton.dev/v1beta1";
  kind: "Trigger";
  metadata: ObjectMeta;
  spec: TriggerSpec;
}

/**
 * triggers.tekton.dev/v1beta1 EventListener; Triggers serves it as Service `el-<name>`:8080.
 * The shared listener has no inline triggers: it selects Trigger objects by namespace and label.
 */
export interface EventListener {
  apiVersion: "triggers.tekton.dev/v1beta1";
  kind: "EventListener";
  metadata: ObjectMeta;
  spec: {
    serviceAccountName: string;
    triggers?: (TriggerSpec & { name: string })[];
    namespaceSelector?: { matchNames: string[] };
    labelSelector?: { matchLabels: Record<string, string> };
  };
}

export interface ServiceAccountManifest {
  apiVersion: "v1";
  kind: "ServiceAccount";
  metadata: ObjectMeta;
}

export interface RoleRef {
  apiGroup: "rbac.authorization.k8s.io";
  kind: "ClusterRole" | "Role";
  name: string;
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export interface RoleManifest {
  apiVersion: "rbac.authorization.k8s.io/v1";
  kind: "Role";
  metadata: ObjectMeta;
  rules: PolicyRule[];
}

export interface ClusterRoleManifest {
  apiVersion: "rbac.authorization.k8s.io/v1";
  kind: "ClusterRole";
  metadata: Omit<ObjectMeta, "namespace">;
  rules: PolicyRule[];
}

export interface ServiceAccountSubject {
  kind: "ServiceAccount";
  name: string;
  namespace: string;
}

export interface RoleBindingManifest {
  apiVersion: "rbac.authorization.k8s.io/v1";
  kind: "RoleBinding";
  metadata: ObjectMeta;
  roleRef: RoleRef;
  subjects: ServiceAccountSubject[];
}

export interface ClusterRoleBindingManifest {
  apiVersion: "rbac.authorization.k8s.io/v1";
  kind: "ClusterRoleBinding";
  metadata: ObjectMeta;
  roleRef: RoleRef;
  subjects: ServiceAccountSubject[];
}

export interface IngressManifest {
  apiVersion: "networking.k8s.io/v1";
  kind: "Ingress";
  metadata: ObjectMeta;
  spec: {
    ingressClassName?: string;
    tls?: { hosts: string[]; secretName?: string }[];
    rules: {
      host: string;
      http: {
        paths: {
          path: string;
          pathType: "Prefix";
          backend: { service: { name: string; port: { number: number } } };
        }[];
      };
    }[];
  };
}

/** One app's trigger objects, as `triggerObjects` builds them (all in the app namespace). */
export interface TriggerObjects {
  binding: TriggerBinding;
  template: TriggerTemplate;
  trigger: Trigger;
  /** Lets the shared listener create PipelineRuns in the app namespace. */
  role: RoleManifest;
  roleBinding: RoleBindingManifest;
}

/** The shared listener's objects, as `listenerObjects` builds them. */
export interface ListenerObjects {
  listener: EventListener;
  serviceAccount: ServiceAccountManifest;
  role: RoleManifest;
  roleBinding: RoleBindingManifest;
  clusterRoleBinding: ClusterRoleBindingManifest;
  ingress: IngressManifest;
}
