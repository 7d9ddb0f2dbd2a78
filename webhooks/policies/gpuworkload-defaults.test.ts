import { describe, expect, it } from "@jest/globals";
import { WORKLOAD_DEFAULTS } from "../../services/tenant-stack/workload-defaults.ts";
import { makeTenant } from "../../test/builders/webhook-objects.ts";
import { defaultGPUWorkload, pointerToken, type JsonPatchOp } from "./gpuworkload-defaults.ts";

const NS = "tenant-acme";
const bare = (
  spec: Record<string, unknown> = {},
  labels?: Record<string, string>,
): Record<string, unknown> => ({
  apiVersion: "vaultmesh.cloud/v1alpha1",
  kind: "GPUWorkload",
  metadata: { name: "w", ...(labels ? { labels } : {}) },
  spec: { gpu: { type: "a10g", count: 1 }, template: { image: "x" }, ...spec },
});

describe("defaultGPUWorkload", () => {
  const tenant = makeTenant("acme", { plan: "starter" });
  const d = WORKLOAD_DEFAULTS.starter;

  it.each<[string, Record<string, unknown>, JsonPatchOp[]]>([
    [
      "fills everything the user left out",
      bare(),
      [
        { op: "add", path: "/metadata/labels", value: { "vaultmesh.cloud/tenant": "acme" } },
        { op: "add", path: "/spec/routing", value: { strategy: d.strategy } },
        { op: "add", path: "/spec/profile", value: d.profile },
        { op: "add", path: "/spec/priority", value: d.priority },
        { op: "add", path: "/spec/maxRuntimeSeconds", value: d.maxRuntimeSeconds },
      ],
    ],
    [
      "keeps what the user set",
      bare(
        { routing: { strategy: "fastest" }, profile: "bursty", priority: 1, maxRuntimeSeconds: 60 },
        { "vaultmesh.cloud/tenant": "acme" },
      ),
      [],
    ],
    [
      "adds a strategy inside an existing routing block, and the label beside others",
      bare(
        {
          routing: { treatyRef: { name: "pool" } },
          profile: "batch",
          priority: 1,
          maxRuntimeSeconds: 60,
        },
        { team: "ml" },
      ),
      [
        { op: "add", path: "/metadata/labels/vaultmesh.cloud~1tenant", value: "acme" },
        { op: "add", path: "/spec/routing/strategy", value: d.strategy },
      ],
    ],
    [
      "corrects a forged tenant label",
      bare(
        { routing: {}, profile: "batch", priority: 1, maxRuntimeSeconds: 60 },
        { "vaultmesh.cloud/tenant": "globex" },
      ),
      [
        { op: "add", path: "/metadata/labels/vaultmesh.cloud~1tenant", value: "acme" },
        { op: "add", path: "/spec/routing/strategy", value: d.strategy },
      ],
    ],
  ])("%s", (_name, object, want) => {
    expect(defaultGPUWorkload({ object, namespace: NS, tenant, defaults: d })).toEqual(want);
  });

  it("only labels when the tenant is unknown, and never patches garbage", () => {
    expect(
      defaultGPUWorkload({ object: bare(), namespace: NS, tenant: undefined, defaults: undefined }),
    ).toHaveLength(1);
    expect(defaultGPUWorkload({ object: "garbage", namespace: NS, tenant, defaults: d })).toEqual(
      [],
    );
    expect(
      defaultGPUWorkload({ object: { metadata: {}, spec: 3 }, namespace: NS, tenant, defaults: d }),
    ).toHaveLength(1);
  });

  it("escapes JSON pointer tokens", () => {
    expect(pointerToken("a/b~c")).toBe("a~1b~0c");
  });
});
