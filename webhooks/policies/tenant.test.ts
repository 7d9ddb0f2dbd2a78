import { describe, expect, it } from "@jest/globals";
import { makeTenant } from "../../test/builders/webhook-objects.ts";
import { validateTenant, type TenantPolicyInput } from "./tenant.ts";

const run = (
  over: Partial<TenantPolicyInput> & { object: unknown },
): ReturnType<typeof validateTenant> => validateTenant({ treatyNames: new Set(["pool"]), ...over });

describe("validateTenant", () => {
  it("allows a valid tenant", () => {
    expect(run({ object: makeTenant("acme", { allowedTreaties: ["pool"] }) })).toEqual({
      errors: [],
      warnings: [],
    });
  });

  it.each<[string, unknown, string[]]>([
    [
      "paid plan without billing",
      { ...makeTenant("acme"), spec: { plan: "pro", suspended: false } },
      ["spec.billing"],
    ],
    [
      "unknown plan",
      { ...makeTenant("acme"), spec: { plan: "gold", suspended: false } },
      ["spec.plan"],
    ],
    ["name too long for tenant-<name>", makeTenant("a".repeat(57)), ["metadata.name"]],
  ])("denies %s", (_name, object, wantFields) => {
    expect(run({ object }).errors.map((e) => e.field)).toEqual(wantFields);
  });

  it("warns about treaties that do not exist", () => {
    const r = run({ object: makeTenant("acme", { allowedTreaties: ["pool", "ghost"] }) });
    expect(r.warnings).toEqual(["spec.allowedTreaties[1]: treaty ghost does not exist (yet)"]);
  });

  it("warns when the GPU limit drops below what is in use", () => {
    const r = run({
      object: makeTenant("acme"),
      usage: { gpusInUse: 6, activeWorkloads: 2 },
      maxGpus: 4,
    });
    expect(r.warnings).toEqual([expect.stringContaining("uses 6 GPUs, above the new limit of 4")]);
  });

  it("warns on the update that suspends, not on later ones", () => {
    const suspended = makeTenant("acme", { suspended: true });
    expect(run({ object: suspended, oldObject: makeTenant("acme") }).warnings).toEqual([
      expect.stringContaining("suspending tenant acme"),
    ]);
    expect(run({ object: suspended, oldObject: suspended }).warnings).toEqual([]);
  });
});
