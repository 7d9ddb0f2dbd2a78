// FederationPeer: another VaultMesh ledger. The operator syncs with it; both sides compute the
// same merged Merkle root and both sign it.
import { z } from "zod";
import {
  API_VERSION,
  SHA256_HEX_PATTERN,
  HTTP_URL_PATTERN,
  SIGNATURE_ALGORITHMS,
} from "./constants.ts";
import {
  AGE_COLUMN,
  conditionColumn,
  ConditionsSchema,
  CountSchema,
  type CrdDefinition,
  defineCrd,
  NamespacedObjectReferenceSchema,
  ObjectMetaSchema,
  ObservedGenerationSchema,
  TimestampSchema,
  uniqueBy,
} from "./common.ts";

/** A public key the peer signs its tree heads and receipts with. */
export const PeerKeySchema = z
  .object({
    keyId: z.string().min(1).max(256).describe("Id of the key, as it appears in signatures."),
    algorithm: z.enum(SIGNATURE_ALGORITHMS).describe("Key algorithm: Ed25519 or OpenPGP."),
    publicKey: z
      .string()
      .min(1)
      .max(16384)
      .describe("The public key: PEM (Ed25519 SPKI) or an ASCII-armored OpenPGP public key."),
  })
  .describe("A public key of the peer.");
/** A public key of a federation peer. */
export type PeerKey = z.infer<typeof PeerKeySchema>;

const rootHash = (what: string): z.ZodOptional<z.ZodString> =>
  z
    .string()
    .length(64)
    .regex(SHA256_HEX_PATTERN)
    .optional()
    .describe(`${what} (lowercase hex SHA-256).`);

/** Desired state of a FederationPeer. */
export const FederationPeerSpecSchema = z
  .object({
    endpoint: z
      .string()
      .min(1)
      .max(2048)
      .regex(HTTP_URL_PATTERN)
      .describe("Base URL of the peer's ledger proof API."),
    trustAnchor: z
      .object({
        keys: z
          .array(PeerKeySchema)
          .min(1)
          .max(8)
          .check(uniqueBy((k: PeerKey) => k.keyId, "keyId"))
          .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["keyId"] })
          .describe("Public keys the peer's signatures must verify against."),
        caBundle: z
          .string()
          .max(65536)
          .optional()
          .describe("PEM CA certificates for the peer's TLS endpoint; system roots when omitted."),
      })
      .describe("What the peer is trusted by: its signing keys and TLS roots."),
    syncIntervalSeconds: z
      .int()
      .min(10)
      .max(86_400)
      .default(300)
      .describe("Seconds between syncs, 10..86400. @default 300"),
    suspended: z
      .boolean()
      .default(false)
      .describe("When true, syncing with the peer stops. @default false"),
  })
  .describe("Desired state of a FederationPeer: where the peer is and how it is trusted.");
/** Desired state of a FederationPeer. */
export type FederationPeerSpec = z.infer<typeof FederationPeerSpecSchema>;

/** Observed state of a FederationPeer. */
export const FederationPeerStatusSchema = z
  .object({
    observedGeneration: ObservedGenerationSchema.optional(),
    conditions: ConditionsSchema.optional().describe(
      "Reachable (endpoint answers), Consistent (peer's log extends what we saw before), Synced (merged root signed by both), Ready.",
    ),
    peerTreeSize: CountSchema.optional().describe("Size of the peer's tree at the last sync."),
    peerRoot: rootHash("Peer's Merkle root at the last sync"),
    localRoot: rootHash("Local Merkle root at the last sync"),
    mergedRoot: rootHash("Merged Merkle root both sides signed"),
    lastSyncTime: TimestampSchema.optional().describe("When the last successful sync finished."),
    lastFederationReceipt: NamespacedObjectReferenceSchema.optional().describe(
      "FederationSynced Receipt of the last sync.",
    ),
  })
  .describe("Observed state of a FederationPeer.");
/** Observed state of a FederationPeer. */
export type FederationPeerStatus = z.infer<typeof FederationPeerStatusSchema>;

/** A whole FederationPeer object. */
export const FederationPeerSchema = z
  .object({
    apiVersion: z.literal(API_VERSION).describe("API version of the object."),
    kind: z.literal("FederationPeer").describe("Kind of the object."),
    metadata: ObjectMetaSchema,
    spec: FederationPeerSpecSchema,
    status: FederationPeerStatusSchema.optional(),
  })
  .describe("Another VaultMesh ledger this one federates with.");
/** A whole FederationPeer object. */
export type FederationPeer = z.infer<typeof FederationPeerSchema>;
/** A FederationPeer as written by a client: defaulted fields may be omitted. */
export type FederationPeerInput = z.input<typeof FederationPeerSchema>;

/** CRD metadata of FederationPeer. */
export const FederationPeerCrd: CrdDefinition = defineCrd({
  kind: "FederationPeer",
  plural: "federationpeers",
  shortNames: ["fedpeer"],
  scope: "Cluster",
  description:
    "FederationPeer is another VaultMesh ledger. The operator syncs with it; both sides compute the same merged Merkle root and both sign it.",
  spec: FederationPeerSpecSchema,
  status: FederationPeerStatusSchema,
  printerColumns: [
    {
      name: "Endpoint",
      type: "string",
      jsonPath: ".spec.endpoint",
      description: "Peer's ledger API.",
      priority: 1,
    },
    conditionColumn("Reachable"),
    conditionColumn("Synced"),
    {
      name: "Peer Size",
      type: "integer",
      jsonPath: ".status.peerTreeSize",
      description: "Peer's tree size at the last sync.",
    },
    {
      name: "Last Sync",
      type: "date",
      jsonPath: ".status.lastSyncTime",
      description: "Time since the last successful sync.",
    },
    AGE_COLUMN,
  ],
});
