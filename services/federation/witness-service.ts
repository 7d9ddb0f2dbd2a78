/**
 * The ledger's c2sp.org/tlog-witness `add-checkpoint` witness over Postgres: which peer logs
 * it trusts (a trust file of C2SP verifier keys), and the atomic check-then-persist of each
 * request against the origin's trusted ("golden") checkpoint in the append-only
 * `ledger_witness_checkpoints` table (ADR 0083). The decision itself is the pure
 * {@link decideAddCheckpoint}; this module adds the transaction and the origin lock around it.
 */
import type pg from "pg";
import { toBase64 } from "../ledger/canonical-json.ts";
import { CheckpointFormatError, ED25519_NOTE_ALG, parseVerifierKey } from "../ledger/checkpoint.ts";
import type { Clock } from "../ledger/clock.ts";
import type { Witness } from "./cosignature.ts";
import { lockWitnessOrigin, misbehaviourOf } from "./peer-store.ts";
import {
  decideAddCheckpoint,
  noteOrigin,
  parseAddCheckpointRequest,
  TLOG_SIZE_CONTENT_TYPE,
  WitnessReason,
  type TrustedCheckpoint,
  type WitnessedLog,
  type WitnessRefusal,
} from "./witness-protocol.ts";

/** Thrown for an unusable trust file; the message names the line and what was expected. */
export class WitnessTrustError extends Error {
  override readonly name = "WitnessTrustError";
}

/**
 * Parses a witness trust file: one C2SP Ed25519 verifier key (`<origin>+<hash>+<key>`, type
 * 0x01) per line, whose key name is the log's origin; several lines may pin several keys of one
 * origin. Blank lines and lines starting with `#` are ignored. `ownOrigin` (this ledger's own
 * origin) is refused: a peer claiming it would be indistinguishable from us.
 */
export function parseWitnessTrust(
  text: string,
  ownOrigin?: string,
): ReadonlyMap<string, WitnessedLog> {
  const keys = new Map<string, string[]>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    let k;
    try {
      k = parseVerifierKey(line);
    } catch (err) {
      if (!(err instanceof CheckpointFormatError)) throw err;
      throw new WitnessTrustError(`witness trust line ${i + 1}: ${err.message}`);
    }
    if (k.alg !== ED25519_NOTE_ALG) {
      throw new WitnessTrustError(
        `witness trust line ${i + 1}: ${k.name} is not a log key (expected type 0x01 Ed25519, got 0x0${k.alg})`,
      );
    }
    if (k.name === ownOrigin) {
      throw new WitnessTrustError(
        `witness trust line ${i + 1}: origin ${k.name} is this ledger's own origin; a peer must have its own`,
      );
    }
    const b64 = toBase64(k.publicKey);
    const list = keys.get(k.name) ?? [];
    if (!list.includes(b64)) list.push(b64);
    keys.set(k.name, list);
  }
  return new Map([...keys].map(([origin, publicKeys]) => [origin, { origin, publicKeys }]));
}

/** An HTTP answer of the witness. */
export interface WitnessResponse {
  readonly status: 200 | 400 | 403 | 404 | 409 | 422;
  readonly contentType: string;
  readonly body: string;
  /** The refusal reason constant (absent on 200). */
  readonly reason?: WitnessReason;
}

/** Dependencies of {@link WitnessService}. */
export interface WitnessServiceOptions {
  readonly pool: pg.Pool;
  readonly witness: Witness;
  /**
   * Trusted peer logs by origin: a map ({@link parseWitnessTrust}) or a lookup read per request
   * (witness-trust-store.ts, ADR 0094).
   */
  readonly logs: {
    get(origin: string): WitnessedLog | undefined | Promise<WitnessedLog | undefined>;
  };
  readonly clock: Clock;
}

interface GoldenRow {
  seq: string;
  tree_size: string;
  root_hash: Buffer;
  note: string;
}

const TEXT = "text/plain; charset=utf-8";

function refusalResponse(r: WitnessRefusal): WitnessResponse {
  return r.status === 409
    ? { status: 409, contentType: TLOG_SIZE_CONTENT_TYPE, body: r.body!, reason: r.reason }
    : { status: r.status, contentType: TEXT, body: `${r.message}\n`, reason: r.reason };
}

/** The witness endpoint's logic over the ledger database. */
export class WitnessService {
  readonly #o: WitnessServiceOptions;

  constructor(options: WitnessServiceOptions) {
    this.#o = options;
  }

  /** The witness's cosignature verifier key (`<name>+<hash>+<base64(0x04 || key)>`). */
  get vkey(): string {
    return this.#o.witness.vkey;
  }

  /**
   * Handles one add-checkpoint request body. Reads the origin's golden checkpoint, decides and
   * appends the newly cosigned checkpoint in one transaction holding the origin's advisory
   * lock, so concurrent requests for one origin are decided one after the other.
   */
  async addCheckpoint(body: Uint8Array): Promise<WitnessResponse> {
    const parsed = parseAddCheckpointRequest(body);
    if (!parsed.ok) return refusalResponse(parsed);
    const origin = noteOrigin(parsed.request.note);
    const log = await this.#o.logs.get(origin);
    // No lock and no query for an origin we do not witness.
    if (!log) {
      return {
        status: 404,
        contentType: TEXT,
        body: `unknown log origin ${JSON.stringify(origin.slice(0, 100))}\n`,
        reason: WitnessReason.UnknownOrigin,
      };
    }
    const client = await this.#o.pool.connect();
    try {
      await client.query("BEGIN");
      try {
        await lockWitnessOrigin(client, origin);
        // A peer caught forking or rolling back is never cosigned again (ADR 0084).
        if (await misbehaviourOf(client, origin)) {
          await client.query("ROLLBACK");
          return {
            status: 403,
            contentType: TEXT,
            body: `log origin ${JSON.stringify(origin.slice(0, 100))} is quarantined: a fork or rollback of it was recorded\n`,
            reason: WitnessReason.Quarantined,
          };
        }
        const row = await latestRow(client, origin);
        const now = this.#o.clock.now();
        const decision = decideAddCheckpoint(
          parsed.request,
          log,
          row && toTrusted(row),
          this.#o.witness,
          Math.floor(now.getTime() / 1000),
        );
        if (!decision.ok) {
          await client.query("ROLLBACK");
          return refusalResponse(decision);
        }
        // The same checkpoint again is cosigned afresh, but the golden row stays as it is.
        if (!row || Number(row.tree_size) !== decision.trusted.size) {
          await client.query(
            `INSERT INTO ledger_witness_checkpoints
               (origin, seq, tree_size, root_hash, note, cosigned_at)
             VALUES ($1, $2, $3, $4, $5, $6)`,
            [
              origin,
              row ? BigInt(row.seq) + 1n : 1n,
              decision.trusted.size,
              decision.trusted.root,
              decision.trusted.note,
              now,
            ],
          );
        }
        await client.query("COMMIT");
        return { status: 200, contentType: TEXT, body: decision.cosignature };
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }

  /** The latest checkpoint this witness cosigned for `origin`, as a cosigned note. */
  async latest(origin: string): Promise<TrustedCheckpoint | undefined> {
    const row = await latestRow(this.#o.pool, origin);
    return row && toTrusted(row);
  }
}

async function latestRow(
  db: Pick<pg.Pool, "query"> | pg.PoolClient,
  origin: string,
): Promise<GoldenRow | undefined> {
  const { rows } = await db.query<GoldenRow>(
    `SELECT seq::text, tree_size::text, root_hash, note FROM ledger_witness_checkpoints
      WHERE origin = $1 ORDER BY ledger_witness_checkpoints.seq DESC LIMIT 1`,
    [origin],
  );
  return rows[0];
}

function toTrusted(row: GoldenRow): TrustedCheckpoint {
  return { size: Number(row.tree_size), root: new Uint8Array(row.root_hash), note: row.note };
}
