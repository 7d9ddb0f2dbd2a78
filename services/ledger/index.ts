/**
 * The Remembrancer ledger's public surface. The operator needs only `Ledger.open` and
 * `ledger.append`; verifiers need the store-free functions (`verifyBundle`, `verifyInclusion`,
 * `verifyConsistency`, `verifyNote`), which never touch a database.
 */
export {
  Ledger,
  type AppendResult,
  type InclusionProof,
  type LedgerEntry,
  type LedgerOptions,
} from "./ledger.ts";
export {
  createReceipt,
  signReceipt,
  receiptDigest,
  parseReceipt,
  verifyReceiptSignatures,
  ReceiptFormatError,
  RECEIPT_API_VERSION,
  type Receipt,
  type ReceiptInput,
  type ReceiptSignature,
  type ReceiptSubject,
} from "./receipt.ts";
export { systemClock, fixedClock, type Clock } from "./clock.ts";
export { ed25519Signer, generateEd25519, type Ed25519Signer } from "./ed25519.ts";
export { threadedSigner, type ThreadedSigner } from "./threaded-signer.ts";
export {
  generateOpenPgpKey,
  openPgpSigner,
  verifyOpenPgpDetached,
  type OpenPgpSigner,
} from "./openpgp-keys.ts";
export { canonicalJson, canonicalBytes, jsonDigest, type JsonValue } from "./canonical-json.ts";
export { hashLeaf, hashChildren, rootOf, EMPTY_ROOT, type Hash } from "./merkle.ts";
export { verifyInclusion, verifyConsistency, rootFromInclusionProof } from "./merkle-verify.ts";
export {
  formatCheckpoint,
  parseCheckpoint,
  signNote,
  verifyNote,
  verifierKey,
} from "./checkpoint.ts";
export {
  checkpointBody,
  type SignedTreeHead,
  type Timestamper,
  type TreeHeadStamp,
} from "./tree-head.ts";
export { exportBundle, parseBundle, BUNDLE_FORMAT, type ProofBundle } from "./bundle.ts";
export { verifyBundle } from "./verify-bundle.ts";
export { auditLedger, type AuditReport } from "./verify-audit.ts";
export { loadTrustFiles, parseTrustBundle, type TrustBundle } from "./trust-bundle.ts";
export { buildProofApi } from "./proof-api.ts";
export { migrate } from "./store/migrations.ts";
export type { Check, VerifyReport } from "./verify-report.ts";
