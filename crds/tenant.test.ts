import { describe, expect, it } from "@jest/globals";
import { TENANT_NAME_MAX_LENGTH, TenantSchema } from "./index.ts";
import {
  REMOVE,
  issues,
  pathsOfBadField,
  sample,
  withField,
  type BadField,
} from "./test-helpers.ts";

const acme = sample("acme");

describe("TenantSchema", () => {
  it.each<BadField>([
    ["an unknown plan", "spec.plan", "platinum"],
    ["a paid plan without billing", "spec.billing", REMOVE],
    ["a billing address without @", "spec.billing.email", "billing"],
    ["a guild id that is no snowflake", "spec.discord.guildId", "acme"],
    ["a zero rate limit", "spec.rateLimit.requestsPerMinute", 0],
    ["a name too long for tenant-<name>", "metadata.name", "a".repeat(TENANT_NAME_MAX_LENGTH + 1)],
    ["an upper-case name", "metadata.name", "Acme"],
    ["the same owner twice", "spec.owners[1]", { kind: "User", name: "alice@acme.example" }],
  ])("refuses %s", (_what, path, value, wantPath = path) => {
    expect(pathsOfBadField(TenantSchema, acme, path, value)).toContain(wantPath);
  });

  it("accepts a free plan without billing", () => {
    const free = withField(withField(acme, "spec.plan", "free"), "spec.billing", REMOVE);
    expect(issues(TenantSchema, free)).toEqual([]);
  });

  it("accepts a name of the longest allowed length", () => {
    const longest = withField(acme, "metadata.name", "a".repeat(TENANT_NAME_MAX_LENGTH));
    expect(issues(TenantSchema, longest)).toEqual([]);
  });
});
