// What the test harness relies on in @pulumi/pulumi's mocks (runtime/mocks.js), so that an SDK
// upgrade that changes it fails here, not as a puzzle in a component's test.
import { registered, resetRegistrations, resolve, settle } from "./mocks";
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";

class Thing extends pulumi.CustomResource {
  constructor(name: string, opts: pulumi.CustomResourceOptions) {
    super("test:index:Thing", name, {}, opts);
  }
}

describe("the Pulumi mocks (tests/harness/mocks.ts)", () => {
  beforeEach(resetRegistrations);

  it("register a resource with `transforms`, which setMocks itself declares supported", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const store = require("@pulumi/pulumi/runtime/state").getStore();
    assert.equal(store.supportsTransforms, true);
    const transform: pulumi.ResourceTransform = () => undefined;
    const thing = new Thing("with-transforms", { transforms: [transform, transform] });
    await resolve(thing.urn);
    await settle();
    const entry = registered.find((r) => r.name === "with-transforms");
    assert.ok(entry, "not registered");
    assert.equal(entry.transforms, 2);
  });

  it("keep `replacementTrigger` on the registration", async () => {
    const thing = new Thing("with-trigger", { replacementTrigger: "rotate-1" });
    await resolve(thing.urn);
    await settle();
    assert.equal(registered.find((r) => r.name === "with-trigger")?.replacementTrigger, "rotate-1");
  });
});
