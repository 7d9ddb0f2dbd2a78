// Whether, and where, the webhook server records policy.denied receipts, read from the
// environment (the same ledger variables as the operator's). Pure: main.ts passes process.env.
import { DEFAULT_DENIAL_QUEUE_CAPACITY } from "./denial-recorder.ts";

/** Where denials go when recording is on. */
export interface DenialLedgerSettings {
  /** Postgres URL of the Remembrancer ledger (`VAULTMESH_LEDGER_URL`). */
  readonly ledgerUrl: string;
  /** PKCS#8 PEM Ed25519 key that signs the receipts (`VAULTMESH_SIGNING_KEY_FILE`). */
  readonly signingKeyFile: string;
  /** Most denials waiting for the ledger (`VAULTMESH_DENIAL_QUEUE_SIZE`). @default 1000 */
  readonly queueSize: number;
}

const MAX_QUEUE = 100_000;

/**
 * Reads `VAULTMESH_RECORD_DENIALS` (true/false, @default false) and, when true, the ledger
 * settings; undefined when recording is off. Throws an error naming the variable when a value
 * is malformed or a required one is missing.
 */
export function denialLedgerSettings(
  env: Readonly<Record<string, string | undefined>>,
): DenialLedgerSettings | undefined {
  const flag = (env.VAULTMESH_RECORD_DENIALS ?? "").trim().toLowerCase();
  if (flag === "" || flag === "false") return undefined;
  if (flag !== "true") {
    throw new Error(
      `VAULTMESH_RECORD_DENIALS: expected true or false, got ${JSON.stringify(env.VAULTMESH_RECORD_DENIALS)}`,
    );
  }
  const ledgerUrl = env.VAULTMESH_LEDGER_URL?.trim() ?? "";
  const signingKeyFile = env.VAULTMESH_SIGNING_KEY_FILE?.trim() ?? "";
  const missing = [
    ...(ledgerUrl ? [] : ["VAULTMESH_LEDGER_URL"]),
    ...(signingKeyFile ? [] : ["VAULTMESH_SIGNING_KEY_FILE"]),
  ];
  if (missing.length > 0) {
    throw new Error(`VAULTMESH_RECORD_DENIALS=true needs ${missing.join(" and ")}`);
  }
  const rawQueue = env.VAULTMESH_DENIAL_QUEUE_SIZE?.trim() ?? "";
  const queueSize = rawQueue === "" ? DEFAULT_DENIAL_QUEUE_CAPACITY : Number(rawQueue);
  if (!Number.isInteger(queueSize) || queueSize < 1 || queueSize > MAX_QUEUE) {
    throw new Error(
      `VAULTMESH_DENIAL_QUEUE_SIZE: expected an integer from 1 to ${MAX_QUEUE}, got ${JSON.stringify(rawQueue)}`,
    );
  }
  return { ledgerUrl, signingKeyFile, queueSize };
}
