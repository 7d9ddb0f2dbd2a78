// Receipt: a signed, timestamped, Merkle-logged record of something that happened. The spec is
// immutable (CEL `self == oldSelf`); the ledger is the source of truth and a Receipt is a view
// of one ledger entry that the operator can recreate.
import { z } from "zod";
import {
  API_VERSION,
  SHA256_HEX_PATTERN,
  RECEIPT_TYPES,
  SIGNATURE_ALGORITHMS,
  RECEIPT_SPEC_IMMUTABLE_RULE,
} from "./constants.ts";
import {
  AGE_COLUMN,
  tokenString,
  conditionColumn,
  ConditionsSchema,
  CountSchema,
  type CrdDefinition,
  defineCrd,
  NamespaceNameSchema,
  ObjectMetaSchema,
  ObjectNameSchema,
  ObservedGenerationSchema,
  TimestampSchema,
  uniqueBy,
} from "./common.ts";

const sha256Hex = (what: string): z.ZodString =>
  z.string().length(64).regex(SHA256_HEX_PATTERN).describe(`${what} (lowercase hex SHA-256).`);

/** The object a receipt is about. */
export const ReceiptSubjectSchema = z
  .object({
    apiVersion: z.string().min(1).max(253).describe("API version of the subject."),
    kind: z.string().min(1).max(63).describe("Kind of the subject."),
    namespace: NamespaceNameSchema.optional().describe("Namespace of a namespaced subject."),
    name: ObjectNameSchema.describe("Name of the subject."),
    uid: z.string().max(64).optional().describe("UID of the subject."),
  })
  .describe("The object the receipt is about.");

/** A signature over the receipt's digest. */
export const ReceiptSignatureSchema = z
  .object({
    keyId: tokenString(256).describe(
      "Id of the signing key (e.g. an Ed25519 key fingerprint or OpenPGP key id).",
    ),
    algorithm: z.enum(SIGNATURE_ALGORITHMS).describe("Signature algorithm: Ed25519 or OpenPGP."),
    value: z
      .string()
      .min(1)
      .max(16384)
      .describe("The signature, base64 (Ed25519) or ASCII-armored (OpenPGP) over the digest."),
  })
  .describe("A signature over the receipt's digest.");
/** A signature over a receipt's digest. */
export type ReceiptSignature = z.infer<typeof ReceiptSignatureSchema>;

/** Immutable content of a Receipt. */
export const ReceiptSpecSchema = z
  .object({
    type: z
      .enum(RECEIPT_TYPES)
      .describe(
        "What happened: WorkloadCompleted, WorkloadFailed, PolicyDenied, DeploymentRecorded, FederationSynced, FederationInconsistent or TenantDeleted.",
      ),
    subject: ReceiptSubjectSchema,
    payload: z
      .record(z.string(), z.unknown())
      .meta({ "x-kubernetes-preserve-unknown-fields": true })
      .describe(
        "The canonical payload (RFC 8785 JSON) the digest is computed over; free-form per type.",
      ),
    digest: z
      .string()
      .length(71)
      .regex(/^sha256:[0-9a-f]{64}$/)
      .describe("sha256:<hex> of the RFC 8785 canonical payload."),
    signatures: z
      .array(ReceiptSignatureSchema)
      .min(1)
      .max(8)
      .check(uniqueBy((s: ReceiptSignature) => s.keyId, "keyId"))
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["keyId"] })
      .describe("Signatures over the digest, one per key."),
    issuedAt: TimestampSchema.describe("When the receipt was issued (RFC 3339, UTC)."),
  })
  .meta({
    "x-kubernetes-validations": [
      { rule: RECEIPT_SPEC_IMMUTABLE_RULE, message: "spec is immutable" },
    ],
  })
  .describe("Immutable content of a Receipt: what happened, to what, and its signatures.");
/** Immutable content of a Receipt. */
export type ReceiptSpec = z.infer<typeof ReceiptSpecSchema>;

/** Observed state of a Receipt: its place in the Merkle log. */
export const ReceiptStatusSchema = z
  .object({
    observedGeneration: ObservedGenerationSchema.optional(),
    conditions: ConditionsSchema.optional().describe(
      "Logged (appended to the Merkle log), Timestamped (tree head carries an RFC 3161 token), Verified (signatures and inclusion proof check out).",
    ),
    logIndex: CountSchema.optional().describe("Index of the receipt's leaf in the Merkle log."),
    leafHash: sha256Hex("Merkle leaf hash").optional(),
    treeSize: CountSchema.optional().describe("Size of the tree the inclusion proof is against."),
    rootHash: sha256Hex("Merkle root of the tree of treeSize").optional(),
    timestamp: z
      .object({
        treeSize: CountSchema.describe("Size of the timestamped tree head."),
        genTime: TimestampSchema.describe("genTime of the RFC 3161 timestamp token."),
      })
      .optional()
      .describe("RFC 3161 timestamp over the signed tree head that covers the receipt."),
  })
  .describe("Observed state of a Receipt: its place in the Merkle log.");
/** Observed state of a Receipt. */
export type ReceiptStatus = z.infer<typeof ReceiptStatusSchema>;

/** A whole Receipt object. */
export const ReceiptSchema = z
  .object({
    apiVersion: z.literal(API_VERSION).describe("API version of the object."),
    kind: z.literal("Receipt").describe("Kind of the object."),
    metadata: ObjectMetaSchema,
    spec: ReceiptSpecSchema,
    status: ReceiptStatusSchema.optional(),
  })
  .describe("A signed, Merkle-logged record of something that happened.");
/** A whole Receipt object. */
export type Receipt = z.infer<typeof ReceiptSchema>;
/** A Receipt as written by a client: defaulted fields may be omitted. */
export type ReceiptInput = z.input<typeof ReceiptSchema>;

/** CRD metadata of Receipt. */
export const ReceiptCrd: CrdDefinition = defineCrd({
  kind: "Receipt",
  plural: "receipts",
  shortNames: ["rcpt"],
  scope: "Namespaced",
  description:
    "Receipt is a signed, timestamped, Merkle-logged record of something that happened (workload completed, policy denied, deployment recorded, federation synced, tenant deleted). Its spec is immutable; the ledger is the source of truth.",
  spec: ReceiptSpecSchema,
  status: ReceiptStatusSchema,
  printerColumns: [
    { name: "Type", type: "string", jsonPath: ".spec.type", description: "What happened." },
    {
      name: "Subject Kind",
      type: "string",
      jsonPath: ".spec.subject.kind",
      description: "Kind of the subject.",
    },
    {
      name: "Subject",
      type: "string",
      jsonPath: ".spec.subject.name",
      description: "Name of the subject.",
    },
    {
      name: "Index",
      type: "integer",
      jsonPath: ".status.logIndex",
      description: "Index in the Merkle log.",
    },
    conditionColumn("Verified"),
    {
      name: "Digest",
      type: "string",
      jsonPath: ".spec.digest",
      description: "Digest of the canonical payload.",
      priority: 1,
    },
    conditionColumn("Timestamped", "Timestamped", 1),
    AGE_COLUMN,
  ],
});
