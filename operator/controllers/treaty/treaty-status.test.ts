import { describe, expect, it } from "@jest/globals";
import type { Treaty } from "../../../crds/index.ts";
import { treaty } from "../../../test/builders/objects.ts";
import {
  accessProblem,
  computeTreatyStatus,
  p95,
  reputation,
  type CredentialsCheck,
  type TreatyEvidence,
} from "./treaty-status.ts";

const now = new Date("2026-03-10T12:00:00Z");
const period = new Date("2026-03-01T00:00:00Z");
const none: TreatyEvidence = {
  completions: [],
  gpuSecondsThisPeriod: 0,
  routed: 0,
  placed: 0,
  activeJobs: 0,
  rttMs: [],
};
/** `n` completions that ended `minAgo` minutes before `now` after running a minute. */
const completed = (outcome: "Succeeded" | "Failed", n: number, minAgo = 1) =>
  Array.from({ length: n }, () => ({
    outcome,
    provisionSeconds: 1,
    startedAtMs: now.getTime() - (minAgo + 1) * 60_000,
    completedAtMs: now.getTime() - minAgo * 60_000,
  }));
const ok = (n: number, minAgo?: number) => completed("Succeeded", n, minAgo);
const failed = (n: number, minAgo?: number) => completed("Failed", n, minAgo);
const with_ = (f: (t: Treaty) => void): Treaty => {
  const t = treaty("t").inCluster().obj();
  f(t);
  return t;
};

describe("reputation", () => {
  it.each([
    { name: "no evidence: the prior", completions: [], slo: undefined, want: 0.9 },
    { name: "ten successes", completions: ok(10), slo: undefined, want: 0.95 },
    { name: "ten failures", completions: failed(10), slo: undefined, want: 0.45 },
    {
      name: "late successes score half",
      completions: [{ outcome: "Succeeded" as const, provisionSeconds: 99 }],
      slo: 10,
      want: 0.8636,
    },
  ])("$name → $want", ({ completions, slo, want }) => {
    expect(reputation(completions, slo)).toBe(want);
  });
});

const ext = (f: (t: Treaty) => void = () => {}): Treaty => {
  const t = treaty("akash").external("akash", "http://127.0.0.1:9").obj();
  t.spec.credentialsSecretRef = { name: "akash-credentials", namespace: "vaultmesh-system" };
  f(t);
  return t;
};
const at = { namespace: "vaultmesh-system", name: "akash-credentials", key: "token" };
const creds = (found: "ok" | "no-secret" | "no-key"): CredentialsCheck => ({ ...at, found });

describe("accessProblem", () => {
  it.each<{
    name: string;
    t: Treaty;
    credentials: CredentialsCheck | undefined;
    want: { reason: string; message: string } | undefined;
  }>([
    { name: "in-cluster", t: with_(() => {}), credentials: undefined, want: undefined },
    { name: "endpoint and credentials", t: ext(), credentials: creds("ok"), want: undefined },
    {
      name: "no credentialsSecretRef",
      t: ext((t) => delete t.spec.credentialsSecretRef),
      credentials: undefined,
      want: undefined,
    },
    {
      name: "no endpoint",
      t: ext((t) => delete t.spec.endpoint),
      credentials: creds("ok"),
      want: {
        reason: "EndpointMissing",
        message:
          "spec.endpoint is not set: external provider akash cannot be reached (set it to the base URL of the provider's API)",
      },
    },
    {
      name: "a missing Secret",
      t: ext(),
      credentials: creds("no-secret"),
      want: {
        reason: "CredentialsMissing",
        message:
          "spec.credentialsSecretRef: Secret vaultmesh-system/akash-credentials does not exist",
      },
    },
    {
      name: "a Secret without the key",
      t: ext(),
      credentials: creds("no-key"),
      want: {
        reason: "CredentialsMissing",
        message:
          "spec.credentialsSecretRef: Secret vaultmesh-system/akash-credentials has no key token",
      },
    },
    {
      name: "an unreadable Secret",
      t: ext(),
      credentials: { ...at, found: "error", error: "secrets is forbidden" },
      want: {
        reason: "CredentialsMissing",
        message:
          "spec.credentialsSecretRef: Secret vaultmesh-system/akash-credentials cannot be read: secrets is forbidden",
      },
    },
  ])("$name", ({ t, credentials, want }) => {
    expect(accessProblem(t, credentials)).toEqual(want);
  });
});

describe("computeTreatyStatus", () => {
  it.each([
    {
      name: "in force",
      t: with_(() => {}),
      ev: none,
      wantReady: ["True", "InForce"],
      wantDegraded: ["False"],
    },
    {
      name: "suspended",
      t: with_((t) => (t.spec.suspended = true)),
      ev: none,
      wantReady: ["False", "Suspended"],
      wantDegraded: ["False"],
    },
    {
      name: "expired",
      t: with_((t) => (t.spec.expiryDate = "2026-03-01")),
      ev: none,
      wantReady: ["False", "Expired"],
      wantDegraded: ["False"],
    },
    {
      name: "not yet effective",
      t: with_((t) => (t.spec.effectiveDate = "2026-04-01")),
      ev: none,
      wantReady: ["False", "NotYetEffective"],
      wantDegraded: ["False"],
    },
    {
      name: "reputation below floor",
      t: with_((t) => (t.spec.reputationFloor = 0.8)),
      ev: { ...none, completions: failed(10) },
      wantReady: ["False", "Degraded"],
      wantDegraded: ["True"],
    },
    {
      name: "availability below SLO after enough completions",
      t: with_((t) => (t.spec.slo = { availability: 0.99 })),
      ev: { ...none, completions: [...ok(8), ...failed(2)] },
      wantReady: ["False", "Degraded"],
      wantDegraded: ["True"],
    },
    {
      name: "availability breach, cool-down over: half-open, routable (Degraded False, Probing)",
      t: with_((t) => (t.spec.slo = { availability: 0.99 })),
      ev: { ...none, completions: [...ok(8, 30), ...failed(2, 20)] },
      wantReady: ["True", "InForce"],
      wantDegraded: ["False", "Probing"],
    },
    {
      name: "availability breach, three probes succeeded: Recovered",
      t: with_((t) => (t.spec.slo = { availability: 0.99 })),
      ev: { ...none, completions: [...ok(5, 30), ...failed(2, 20), ...ok(3, 1)] },
      wantReady: ["True", "InForce"],
      wantDegraded: ["False", "Recovered"],
    },
    {
      name: "availability breach older than the window: within SLO",
      t: with_((t) => (t.spec.slo = { availability: 0.99 })),
      ev: { ...none, completions: [...ok(8, 90), ...failed(2, 61)] },
      wantReady: ["True", "InForce"],
      wantDegraded: ["False", "WithinSLO"],
    },
    {
      name: "p95 RTT above SLO",
      t: with_((t) => (t.spec.slo = { availability: 0.5, maxLatencyMs: 100 })),
      ev: { ...none, rttMs: [50, 60, 300] },
      wantReady: ["False", "Degraded"],
      wantDegraded: ["True"],
    },
    {
      name: "external without an endpoint",
      t: ext((t) => delete t.spec.endpoint),
      ev: none,
      wantReady: ["False", "EndpointMissing"],
      wantDegraded: ["False"],
    },
    {
      name: "external whose credentials Secret is missing",
      t: ext(),
      ev: { ...none, credentials: creds("no-secret") },
      wantReady: ["False", "CredentialsMissing"],
      wantDegraded: ["False"],
    },
    {
      name: "external with endpoint and credentials",
      t: ext(),
      ev: { ...none, credentials: creds("ok") },
      wantReady: ["True", "InForce"],
      wantDegraded: ["False"],
    },
    {
      name: "suspended before missing credentials",
      t: ext((t) => (t.spec.suspended = true)),
      ev: { ...none, credentials: creds("no-key") },
      wantReady: ["False", "Suspended"],
      wantDegraded: ["False"],
    },
    {
      name: "missing credentials before an SLO breach",
      t: ext((t) => (t.spec.reputationFloor = 0.8)),
      ev: { ...none, completions: failed(10), credentials: creds("no-secret") },
      wantReady: ["False", "CredentialsMissing"],
      wantDegraded: ["True"],
    },
  ])("$name", ({ t, ev, wantReady, wantDegraded }) => {
    const { status } = computeTreatyStatus(t, ev, now, period);
    const ready = status.conditions?.find((c) => c.type === "Ready");
    expect([ready?.status, ready?.reason]).toEqual(wantReady);
    const degraded = status.conditions?.find((c) => c.type === "Degraded");
    expect([degraded?.status, degraded?.reason].slice(0, wantDegraded.length)).toEqual(
      wantDegraded,
    );
  });

  it("reports usage, fill rate and when the dates next change Ready", () => {
    const t = with_((x) => (x.spec.expiryDate = "2026-03-11"));
    const { status, requeueAfterMs } = computeTreatyStatus(
      t,
      { ...none, gpuSecondsThisPeriod: 7200, routed: 4, placed: 3, activeJobs: 2 },
      now,
      period,
    );
    expect(status).toMatchObject({
      gpuHoursThisPeriod: 2,
      fillRate: 0.75,
      activeJobs: 2,
      periodStart: "2026-03-01T00:00:00Z",
    });
    expect(requeueAfterMs).toBe(12 * 3600 * 1000 + 1000);
  });

  it("looks again when an availability ejection's cool-down ends", () => {
    const t = with_((x) => (x.spec.slo = { availability: 0.99 }));
    const ev = { ...none, completions: [...ok(8, 30), ...failed(2, 2)] };
    const { status, requeueAfterMs } = computeTreatyStatus(t, ev, now, period);
    const degraded = status.conditions?.find((c) => c.type === "Degraded");
    expect([degraded?.status, degraded?.reason]).toEqual(["True", "AvailabilityBelowSLO"]);
    expect(status.availability).toBe(0.8);
    // Newest failure 2 min ago, 5 min cool-down: 3 min, plus the second of margin.
    expect(requeueAfterMs).toBe(3 * 60_000 + 1000);
  });

  it("takes the 95th percentile by nearest rank", () => {
    expect(p95([])).toBeUndefined();
    expect(p95(Array.from({ length: 100 }, (_, i) => i + 1))).toBe(95);
  });
});
