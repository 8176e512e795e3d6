// The transform every Tekton release ConfigFile of the stack carries (Pipelines, Triggers,
// Chains, Pruner, Dashboard).
import * as pulumi from "@pulumi/pulumi";

const CRD_TYPE = /^kubernetes:apiextensions\.k8s\.io\/[^:]+:CustomResourceDefinition$/;

/**
 * Keeps Tekton's CustomResourceDefinitions in the cluster when Pulumi deletes them: deleting a
 * CRD deletes every object of its kind, so `install: false`, a destroy, or an upgrade whose
 * release file drops a CRD would otherwise take every Task, Pipeline and PipelineRun of the
 * cluster with it (and not only this stack's). With retainOnDelete Pulumi only forgets the CRD.
 *
 * Set as a `transforms` resource option on each ConfigFile: yaml/v2 ConfigFile is a remote
 * component (pulumi-kubernetes registers it again, and its children, from the provider's
 * Construct). The engine keeps the program's transforms for that re-registration
 * (`pendingTransforms`) and runs a parent's transforms on every child it registers (pulumi
 * v3.259.0 pkg/resource/deploy/source_eval.go, `RegisterResource`: "collect parent transforms").
 * The old `transformations` option would not reach them: it runs in this process only.
 */
export const retainCustomResourceDefinitions: pulumi.ResourceTransform = (args) =>
  CRD_TYPE.test(args.type)
    ? { props: args.props, opts: { ...args.opts, retainOnDelete: true } }
    : undefined;
