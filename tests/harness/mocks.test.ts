// What the test harness relies on in @pulumi/pulumi's mocks (runtime/mocks.js), so that an SDK
// upgrade that changes it fails here, not as a puzzle in a component's test.
import { registered, resetRegistrations, settle } from "./mocks";
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";

describe("the Pulumi mocks (tests/harness/mocks.ts)", () => {
  beforeEach(resetRegistrations);

  it("register a resource with `transforms`, which setMocks itself declares supported", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const store = require("@pulumi/pulumi/runtime/state").getStore();
    assert.equal(store.supportsTransforms, true);
    const transform: pulumi.ResourceTransform = () => undefined;
    const thing = new pulumi.CustomResource(
      "test:index:Thing",
      "with-transforms",
      {},
      { transforms: [transform, transform] },
    );
    await new Promise<void>((resolve, reject) =>
      (thing.urn as any).promise().then(() => resolve(), reject),
    );
    await settle();
    const entry = registered.find((r) => r.name === "with-transforms");
    assert.ok(entry, "not registered");
    assert.equal(entry.transforms, 2);
  });

  it("keep `replacementTrigger` on the registration", async () => {
    const thing = new pulumi.CustomResource(
      "test:index:Thing",
      "with-trigger",
      {},
      { replacementTrigger: "rotate-1" },
    );
    await (thing.urn as any).promise();
    await settle();
    assert.equal(registered.find((r) => r.name === "with-trigger")?.replacementTrigger, "rotate-1");
  });
});
