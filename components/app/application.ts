import * as pulumi from "@pulumi/pulumi";

/**
 * The parent of everything one app gets (credentials, pipeline, trigger), so `pulumi preview`
 * and the console show one tree per app.
 */
export class Application extends pulumi.ComponentResource {
  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("tekton-gitlab:app:Application", name, {}, opts);
    this.registerOutputs({});
  }
}
