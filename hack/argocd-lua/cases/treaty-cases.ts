/**
 * Health cases of a Treaty: the config/samples treaties with the status the operator's
 * computeTreatyStatus gives them for each state a treaty can be in.
 */
import { TreatySchema, type Treaty, type TreatyInput } from "../../../crds/index.ts";
import {
  computeTreatyStatus,
  type TreatyEvidence,
} from "../../../operator/controllers/treaty/treaty-status.ts";
import {
  FOREGROUND_DELETION,
  type HealthCase,
  lifecycleCases,
  NOW,
  plain,
  sample,
  served,
} from "./case-kit.ts";

const PERIOD_START = new Date("2026-06-01T00:00:00Z");

const quiet: TreatyEvidence = {
  completions: [],
  gpuSecondsThisPeriod: 0,
  routed: 0,
  placed: 0,
  activeJobs: 0,
  rttMs: [],
};

function treaty(file: string, spec: Partial<TreatyInput["spec"]> = {}): Treaty {
  const s = sample<TreatyInput>(file);
  return served(TreatySchema.parse({ ...s, spec: { ...s.spec, ...spec } }));
}

function observed(t: Treaty, evidence: TreatyEvidence = quiet): Treaty {
  return { ...t, status: computeTreatyStatus(t, evidence, NOW, PERIOD_START).status };
}

const inCluster = "treaty-in-cluster-a10g.yaml";
const akash = "treaty-aurora-akash-001.yaml";

/** The Treaty cases, healthy first. */
export function treatyCases(): HealthCase[] {
  const healthy = observed(treaty(inCluster));
  const failing: TreatyEvidence = {
    ...quiet,
    completions: Array.from({ length: 10 }, () => ({
      outcome: "Failed" as const,
      provisionSeconds: 30,
      startedAtMs: NOW.getTime() - 60_000,
      completedAtMs: NOW.getTime() - 30_000,
    })),
  };
  return [
    {
      name: "healthy-in-force",
      object: plain(healthy),
      want: { status: "Healthy", message: "InForce: eligible for routing" },
    },
    {
      name: "healthy-external-provider",
      object: plain(
        observed(treaty(akash, { endpoint: "https://provider.akash.example/v1" }), {
          ...quiet,
          rttMs: [40, 42, 45],
        }),
      ),
      want: { status: "Healthy", message: "InForce: eligible for routing" },
    },
    {
      name: "degraded-expired",
      object: plain(observed(treaty(inCluster, { expiryDate: "2026-05-31" }))),
      want: { status: "Degraded", message: "Expired: expired on 2026-05-31" },
    },
    {
      name: "degraded-slo-breached",
      object: plain(observed(treaty(inCluster), failing)),
      want: {
        status: "Degraded",
        message:
          "Degraded: reputation 0.45 below floor 0.5; measured availability 0 below SLO 0.995 over 10 completions in the last 60 min; no new work until 2026-06-01T10:04:30.000Z (5 min after the last failure)",
      },
    },
    {
      name: "degraded-endpoint-missing",
      object: plain(observed(treaty(akash))),
      want: {
        status: "Degraded",
        message:
          "EndpointMissing: spec.endpoint is not set: external provider akash cannot be reached (set it to the base URL of the provider's API)",
      },
    },
    {
      name: "degraded-credentials-missing",
      object: plain(
        observed(
          treaty(akash, {
            endpoint: "https://provider.akash.example/v1",
            credentialsSecretRef: { name: "akash-credentials", key: "token" },
          }),
          {
            ...quiet,
            credentials: {
              namespace: "vaultmesh-system",
              name: "akash-credentials",
              key: "token",
              found: "no-secret",
            },
          },
        ),
      ),
      want: {
        status: "Degraded",
        message:
          "CredentialsMissing: spec.credentialsSecretRef: Secret vaultmesh-system/akash-credentials does not exist",
      },
    },
    {
      name: "suspended-spec",
      object: plain(observed(treaty(inCluster, { suspended: true }))),
      want: { status: "Suspended", message: "Suspended: spec.suspended is true" },
    },
    {
      name: "suspended-not-yet-effective",
      object: plain(observed(treaty(inCluster, { effectiveDate: "2026-07-01" }))),
      want: { status: "Suspended", message: "NotYetEffective: in force from 2026-07-01" },
    },
    ...lifecycleCases(healthy, FOREGROUND_DELETION),
  ];
}
