/**
 * Health cases of a FederationPeer: the config/samples peer. No controller reconciles
 * FederationPeers yet, so there is no status function to call: the conditions are set with the
 * operator's setConditions from the condition types the CRD declares (Reachable, Consistent,
 * Synced, Ready). When a FederationPeer status function exists, build them with it instead.
 */
import {
  FederationPeerConditionType as T,
  FederationPeerSchema,
  type FederationPeer,
  type FederationPeerInput,
} from "../../../crds/index.ts";
import { type ConditionInput, setConditions } from "../../../operator/runtime/index.ts";
import {
  FOREGROUND_DELETION,
  type HealthCase,
  lifecycleCases,
  NOW,
  plain,
  sample,
  served,
} from "./case-kit.ts";

function peer(suspended = false): FederationPeer {
  const s = sample<FederationPeerInput>("federationpeer-vaultmesh-eu.yaml");
  return served(FederationPeerSchema.parse({ ...s, spec: { ...s.spec, suspended } }));
}

function withConditions(p: FederationPeer, inputs: ConditionInput[]): FederationPeer {
  const gen = p.metadata.generation;
  return {
    ...p,
    status: { observedGeneration: gen, conditions: setConditions([], inputs, gen, NOW) },
  };
}

const ok = (type: string, reason: string, message: string): ConditionInput => ({
  type,
  status: "True",
  reason,
  message,
});

/** The FederationPeer cases, healthy first. */
export function federationPeerCases(): HealthCase[] {
  const synced = "merged root of size 1042 signed by both ledgers";
  const healthy = withConditions(peer(), [
    ok(T.Reachable, "Reachable", "proof API answered in 84 ms"),
    ok(T.Consistent, "Consistent", "the peer's tree of 1000 extends the one seen before (998)"),
    ok(T.Synced, "Synced", synced),
    ok(T.Ready, "Synced", synced),
  ]);
  const fork = "the peer's tree head of size 1000 is not an extension of the one seen at 998";
  return [
    {
      name: "healthy-synced",
      object: plain(healthy),
      want: { status: "Healthy", message: `Synced: ${synced}` },
    },
    {
      name: "degraded-inconsistent",
      object: plain(
        withConditions(peer(), [
          ok(T.Reachable, "Reachable", "proof API answered in 84 ms"),
          { type: T.Consistent, status: "False", reason: "ConsistencyProofFailed", message: fork },
          { type: T.Ready, status: "False", reason: "ConsistencyProofFailed", message: fork },
        ]),
      ),
      want: { status: "Degraded", message: `Consistent is False: ConsistencyProofFailed: ${fork}` },
    },
    {
      name: "degraded-unreachable",
      object: plain(
        withConditions(peer(), [
          {
            type: T.Reachable,
            status: "False",
            reason: "Unreachable",
            message: "GET https://ledger.eu.vaultmesh.example/v1/tree-head: connect ETIMEDOUT",
          },
          { type: T.Ready, status: "False", reason: "Unreachable", message: "" },
        ]),
      ),
      want: {
        status: "Degraded",
        message:
          "Reachable is False: Unreachable: GET https://ledger.eu.vaultmesh.example/v1/tree-head: connect ETIMEDOUT",
      },
    },
    {
      name: "suspended-spec",
      object: plain(peer(true)),
      want: {
        status: "Suspended",
        message: "spec.suspended is true: syncing with the peer is stopped",
      },
    },
    ...lifecycleCases(healthy, FOREGROUND_DELETION),
  ];
}
