/**
 * The witness's pinned peer logs kept in the ledger database (`ledger_witness_trust`, migration
 * 6, ADR 0094): the operator, which watches FederationPeers, records each peer's pinned origin
 * and raw Ed25519 log keys there, and `remembrancer serve --witness-trust-db` reads them per
 * request — so the tlog-witness endpoint and the federation receipt acceptor trust exactly the
 * FederationPeers, without a trust file kept in step by hand. A `--witness-trust` file (ledgers
 * run without an operator) still works and is merged with the table.
 *
 * Rows are grouped by `source` (who pinned them): a writer replaces its own source's set in one
 * transaction and never touches another's.
 */
import type pg from "pg";
import { fromBase64, toBase64 } from "../ledger/canonical-json.ts";
import { verifierKey } from "../ledger/checkpoint.ts";
import type { FederationIdentity } from "./federation-receipt.ts";
import type { WitnessedLog } from "./witness-protocol.ts";

/** The source of the rows the operator writes from the cluster's FederationPeers. */
export const FEDERATION_PEERS_TRUST_SOURCE = "FederationPeers";

/** Advisory lock class of the trust writers (two-key form, "vmtr"); the source's hash is the key. */
const TRUST_LOCK_CLASS = 0x766d7472;

/** One pinned log key of a peer. */
export interface WitnessTrustPin {
  /** The peer log's origin (the key name of its checkpoints). */
  readonly origin: string;
  /** The raw 32-byte Ed25519 key, base64. */
  readonly publicKey: string;
  /** What pinned it (the FederationPeer's name), for people reading the table. */
  readonly peer: string;
}

/** Thrown for a pin that cannot be stored; the message names the field. */
export class WitnessTrustPinError extends Error {
  override readonly name = "WitnessTrustPinError";
}

/** What {@link replaceWitnessTrust} changed. */
export interface WitnessTrustChange {
  readonly added: readonly WitnessTrustPin[];
  readonly removed: readonly WitnessTrustPin[];
}

const pinKey = (p: WitnessTrustPin): string => `${p.origin}\n${p.publicKey}\n${p.peer}`;

/**
 * The rows to delete and to insert to turn `current` into `desired` (pure). A pin whose origin
 * and key stay but whose peer changed is removed and added again.
 */
export function witnessTrustDiff(
  current: readonly WitnessTrustPin[],
  desired: readonly WitnessTrustPin[],
): WitnessTrustChange {
  const have = new Set(current.map(pinKey));
  const want = new Set(desired.map(pinKey));
  return {
    added: desired.filter((p) => !have.has(pinKey(p))),
    removed: current.filter((p) => !want.has(pinKey(p))),
  };
}

/** Checks one pin; throws {@link WitnessTrustPinError} naming the field. */
export function checkWitnessTrustPin(p: WitnessTrustPin, at: string): void {
  if (!p.origin || /\s|\+/.test(p.origin)) {
    throw new WitnessTrustPinError(
      `${at}.origin: expected a key name without whitespace or '+', got ${JSON.stringify(p.origin)}`,
    );
  }
  let raw: Uint8Array;
  try {
    raw = fromBase64(p.publicKey);
  } catch {
    raw = new Uint8Array();
  }
  if (raw.length !== 32) {
    throw new WitnessTrustPinError(`${at}.publicKey: expected a base64 raw 32-byte Ed25519 key`);
  }
  if (!p.peer) throw new WitnessTrustPinError(`${at}.peer: required`);
}

interface PinRow {
  origin: string;
  public_key: Buffer;
  peer: string;
}

/** The pins recorded under `source`. */
export async function readWitnessTrust(
  db: Pick<pg.Pool, "query"> | pg.PoolClient,
  source: string,
): Promise<WitnessTrustPin[]> {
  const { rows } = await db.query<PinRow>(
    `SELECT origin, public_key, peer FROM ledger_witness_trust WHERE source = $1
      ORDER BY origin, public_key, peer`,
    [source],
  );
  return rows.map((r) => ({
    origin: r.origin,
    publicKey: toBase64(new Uint8Array(r.public_key)),
    peer: r.peer,
  }));
}

/**
 * Makes `desired` the set of pins of `source`, in one transaction under the source's advisory
 * lock: a retry, a restart or two writers at once end in the same rows, never a partial set.
 * Writes nothing when the set is unchanged.
 */
export async function replaceWitnessTrust(
  pool: pg.Pool,
  source: string,
  desired: readonly WitnessTrustPin[],
  now: Date,
): Promise<WitnessTrustChange> {
  desired.forEach((p, i) => checkWitnessTrustPin(p, `pins[${i}]`));
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    try {
      await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [
        TRUST_LOCK_CLASS,
        source,
      ]);
      const change = witnessTrustDiff(await readWitnessTrust(client, source), desired);
      for (const p of change.removed) {
        await client.query(
          `DELETE FROM ledger_witness_trust
            WHERE source = $1 AND origin = $2 AND public_key = $3 AND peer = $4`,
          [source, p.origin, fromBase64(p.publicKey), p.peer],
        );
      }
      for (const p of change.added) {
        await client.query(
          `INSERT INTO ledger_witness_trust (source, origin, public_key, peer, pinned_at)
           VALUES ($1, $2, $3, $4, $5)`,
          [source, p.origin, fromBase64(p.publicKey), p.peer, now],
        );
      }
      await client.query("COMMIT");
      return change;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  } finally {
    client.release();
  }
}

/** A lookup of trusted peer logs by origin, as the witness service and the acceptor read it. */
export interface WitnessTrustLookup {
  get(origin: string): Promise<WitnessedLog | undefined>;
}

/** Options of {@link WitnessTrustStore}. */
export interface WitnessTrustStoreOptions {
  /** The ledger database; omitted, only `fileLogs` are trusted. */
  readonly pool?: Pick<pg.Pool, "query">;
  /** Peer logs of a `--witness-trust` file (already checked by parseWitnessTrust). */
  readonly fileLogs?: ReadonlyMap<string, WitnessedLog>;
  /** This ledger's origin: never trusted as a peer's. */
  readonly ownOrigin?: string | undefined;
  /** Raw keys (base64) that are never a peer's log key: ours and our witness's. */
  readonly excludedKeys?: readonly string[];
}

/**
 * The trusted peer logs: the trust file's and every source's rows of the database table,
 * merged per origin, read per request (a FederationPeer added or deleted counts from the next
 * request on). This ledger's own origin and keys are never trusted.
 */
export class WitnessTrustStore implements WitnessTrustLookup {
  readonly #o: WitnessTrustStoreOptions;

  constructor(options: WitnessTrustStoreOptions) {
    this.#o = options;
  }

  async get(origin: string): Promise<WitnessedLog | undefined> {
    if (origin === "" || origin === this.#o.ownOrigin) return undefined;
    const keys = [...(this.#o.fileLogs?.get(origin)?.publicKeys ?? [])];
    if (this.#o.pool) {
      const { rows } = await this.#o.pool.query<{ public_key: Buffer }>(
        `SELECT DISTINCT public_key FROM ledger_witness_trust WHERE origin = $1 ORDER BY public_key`,
        [origin],
      );
      for (const r of rows) {
        const k = toBase64(new Uint8Array(r.public_key));
        if (!keys.includes(k)) keys.push(k);
      }
    }
    const excluded = new Set(this.#o.excludedKeys ?? []);
    const publicKeys = keys.filter((k) => !excluded.has(k));
    return publicKeys.length > 0 ? { origin, publicKeys } : undefined;
  }
}

/** The federation identity (origin and log vkeys) of a trusted log. */
export function identityOfWitnessedLog(log: WitnessedLog): FederationIdentity {
  return {
    origin: log.origin,
    logKeys: log.publicKeys.map((k) => verifierKey(log.origin, fromBase64(k))),
  };
}

/** The acceptor's view of `trust`: the pinned peers' federation identities by origin. */
export function federationPeersOf(trust: WitnessTrustLookup): {
  get(origin: string): Promise<FederationIdentity | undefined>;
} {
  return {
    get: async (origin) => {
      const log = await trust.get(origin);
      return log && identityOfWitnessedLog(log);
    },
  };
}
