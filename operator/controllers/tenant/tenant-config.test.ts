import { describe, expect, it } from "@jest/globals";
import { tenantStackConfigFromEnv } from "./tenant-config.ts";

describe("tenantStackConfigFromEnv", () => {
  it.each([
    ["a cluster-wide operator", {}, true],
    ["turned off", { VAULTMESH_TENANT_CONTROLLER: "false" }, false],
    ["a namespace-scoped instance (tests, shards)", { VAULTMESH_WATCH_NAMESPACE: "ns1" }, false],
    [
      "a namespace-scoped instance given a tenant selector",
      { VAULTMESH_WATCH_NAMESPACE: "ns1", VAULTMESH_TENANT_SELECTOR: "a=b" },
      true,
    ],
  ])("%s → enabled %s", (_what, env, want) => {
    expect(tenantStackConfigFromEnv(env).enabled).toBe(want);
  });

  it("turns on only the services it has settings for", () => {
    const cfg = tenantStackConfigFromEnv({
      VAULTMESH_TENANT_DB_URL: "postgresql://arrakis_app@db/arrakis",
      VAULTMESH_STRIPE_API_KEY_FILE: "/etc/stripe/key",
      VAULTMESH_STRIPE_PLAN_PRICES: '{"pro":"price_pro"}',
      VAULTMESH_DISCORD_TOKEN_FILE: "/etc/discord/token",
      VAULTMESH_TENANT_PLATFORM_NAMESPACES: "vaultmesh-system, bridge",
      VAULTMESH_TENANT_TEARDOWN_GRACE_MS: "5000",
    });
    expect(cfg.databaseUrl).toBe("postgresql://arrakis_app@db/arrakis");
    expect(cfg.redisUrl).toBeUndefined();
    expect(cfg.stripe?.billing).toEqual({
      planPrices: { pro: "price_pro" },
      meterEventName: "vaultmesh_gpu_seconds",
    });
    // A token without an application id is not enough to bind guilds.
    expect(cfg.discord).toBeUndefined();
    expect(cfg.settings.network?.platformNamespaces).toEqual(["vaultmesh-system", "bridge"]);
    expect(cfg.settings.teardownGraceMs).toBe(5000);
  });
});
