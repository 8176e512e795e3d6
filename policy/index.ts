// The policy pack `pulumi preview --policy-pack policy` runs: every policy but the advisory
// listener-runs-admission-policy (its own level wins over the pack's) is mandatory, so a
// violation fails the preview (and `pulumi up` stops before the resource is created).
// The policies themselves live in ./policies (pure, unit-tested); constructing the PolicyPack
// starts the analyzer's gRPC server, so nothing but Pulumi's runner imports this file.
import { PolicyPack } from "@pulumi/policy";
import { stackPolicies } from "./credentials";
import { policies } from "./policies";

new PolicyPack("tekton-gitlab", {
  description:
    "Guard rails of the tekton-gitlab stack: pinned step images, no TLS skipping, no params in scripts, read-only source deploy keys, minimal cluster RBAC, private keys only in ssh-auth Secrets, no credentials on a run-wide ServiceAccount.",
  enforcementLevel: "mandatory",
  policies: [...policies, ...stackPolicies],
});
