// FederationPeer: another VaultMesh ledger. The operator syncs with it; both sides compute the
// same merged Merkle root and both sign it.
import { z } from "zod";
import {
  API_VERSION,
  COSIGNER_VKEY_PATTERN,
  NOTE_KEY_NAME_PATTERN,
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
  tokenString,
  uniqueBy,
} from "./common.ts";

/** A public key the peer signs its tree heads and receipts with. */
export const PeerKeySchema = z
  .object({
    keyId: tokenString(256).describe("Id of the key, as it appears in signatures."),
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
        origin: z
          .string()
          .min(1)
          .max(255)
          .regex(NOTE_KEY_NAME_PATTERN)
          .describe(
            "The peer log's origin (first line of its checkpoints), pinned: a checkpoint of any other origin is refused, and so is our own.",
          ),
        witnessKey: z
          .string()
          .min(1)
          .max(512)
          .regex(COSIGNER_VKEY_PATTERN)
          .describe(
            "C2SP cosignature/v1 verifier key of the peer's witness (`<name>+<8 hex>+<base64(0x04 || key)>`), as `remembrancer federation init` prints it: what the peer's cosignatures of our checkpoints must verify against.",
          ),
      })
      .describe(
        "What the peer is trusted by: its log origin, its Ed25519 signing keys (checkpoints and receipts), its witness key and TLS roots.",
      ),
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
      "Reachable (the peer's proof and witness API answer), Consistent (the peer's log extends the checkpoint we trusted; False for good once it forked or rolled back), Synced (we cosigned the peer's checkpoint and the peer cosigned ours), Ready.",
    ),
    peerTreeSize: CountSchema.optional().describe(
      "Size of the peer's checkpoint we last verified and cosigned.",
    ),
    peerRoot: rootHash("Root of the peer's checkpoint we last verified and cosigned"),
    localTreeSize: CountSchema.optional().describe(
      "Size of our checkpoint the peer last cosigned.",
    ),
    localRoot: rootHash("Root of our checkpoint the peer last cosigned"),
    peerCosignedAt: TimestampSchema.optional().describe(
      "Timestamp of the peer witness's latest cosignature of our checkpoint.",
    ),
    mergedRoot: rootHash(
      "Merged root of the last synced pair: the RFC 6962 root over the two checkpoint bodies, ordered by origin",
    ),
    lastSyncTime: TimestampSchema.optional().describe("When the last successful sync finished."),
    lastAttemptTime: TimestampSchema.optional().describe("When the last sync round ended."),
    nextSyncTime: TimestampSchema.optional().describe(
      "When the next sync round is due (the interval with jitter).",
    ),
    lastFederationReceipt: NamespacedObjectReferenceSchema.optional().describe(
      "FederationSynced Receipt of the last sync.",
    ),
    lastFederationReceiptDigest: z
      .string()
      .length(71)
      .regex(/^sha256:[0-9a-f]{64}$/)
      .optional()
      .describe("Digest of that receipt (sha256:<hex>), the same in both ledgers."),
    inconsistency: z
      .object({
        reason: z
          .string()
          .min(1)
          .max(64)
          .describe("Why the peer is inconsistent: Forked or RolledBack."),
        detectedAt: TimestampSchema.describe("When the misbehaviour was detected."),
        receipt: NamespacedObjectReferenceSchema.optional().describe(
          "The FederationInconsistent Receipt holding the evidence.",
        ),
        digest: z
          .string()
          .length(71)
          .regex(/^sha256:[0-9a-f]{64}$/)
          .optional()
          .describe("Digest of the FederationInconsistent receipt in our ledger."),
      })
      .optional()
      .describe(
        "Set once the peer was caught forking or rolling back its log: syncing and cosigning stop and it never clears by itself.",
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
    {
      name: "Origin",
      type: "string",
      jsonPath: ".spec.trustAnchor.origin",
      description: "Peer log's pinned origin.",
      priority: 1,
    },
    conditionColumn("Reachable"),
    conditionColumn("Consistent"),
    conditionColumn("Synced"),
    {
      name: "Peer Size",
      type: "integer",
      jsonPath: ".status.peerTreeSize",
      description: "Size of the peer's checkpoint we last cosigned.",
    },
    {
      name: "Local Size",
      type: "integer",
      jsonPath: ".status.localTreeSize",
      description: "Size of our checkpoint the peer last cosigned.",
    },
    {
      name: "Merged Root",
      type: "string",
      jsonPath: ".status.mergedRoot",
      description: "Merged root of the last synced pair.",
      priority: 1,
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
