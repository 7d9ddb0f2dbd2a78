import { describe, expect, it } from "@jest/globals";
import { TREATY_READY_REASONS } from "../../../crds/constants.ts";
import { treatyRequeueMs, type RequeueInputs } from "./treaty-reconciler.ts";

describe("treatyRequeueMs", () => {
  const base: RequeueInputs = {
    statusRequeueMs: undefined,
    external: false,
    probeIntervalMs: 30_000,
    access: undefined,
    credentialsRetryMs: 5_000,
  };
  const missing = { reason: TREATY_READY_REASONS.CredentialsMissing, message: "no Secret" };
  const noEndpoint = { reason: TREATY_READY_REASONS.EndpointMissing, message: "no endpoint" };

  it.each<{ name: string; x: Partial<RequeueInputs>; want: number | undefined }>([
    { name: "an in-cluster treaty with nothing due", x: {}, want: undefined },
    { name: "a date change ahead", x: { statusRequeueMs: 90_000 }, want: 90_000 },
    { name: "an external treaty: the probe interval", x: { external: true }, want: 30_000 },
    {
      name: "an external treaty with a date change sooner",
      x: { external: true, statusRequeueMs: 1_000 },
      want: 1_000,
    },
    {
      name: "a missing credentials Secret: looked up again soon",
      x: { external: true, access: missing },
      want: 5_000,
    },
    {
      name: "a missing endpoint: only the probe interval (nothing to look up)",
      x: { external: true, access: noEndpoint },
      want: 30_000,
    },
  ])("$name → $want", ({ x, want }) => {
    expect(treatyRequeueMs({ ...base, ...x })).toBe(want);
  });
});
