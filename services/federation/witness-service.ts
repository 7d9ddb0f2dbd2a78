/**
 * The ledger's c2sp.org/tlog-witness `add-checkpoint` witness over Postgres: which peer logs
 * it trusts (a trust file of C2SP verifier keys), and the atomic check-then-persist of each
 * request against the origin's trusted ("golden") checkpoint in the append-only
 * `ledger_witness_checkpoints` table (ADR 0083). The decision itself is the pure
 * {@link decideAddCheckpoint}; this module reads what it decides against (one statement) and
 * appends the result (one statement) with the table's (origin, seq) primary key as the
 * compare-and-swap that makes the two atomic (ADR 0083, "Persisting without a lock").
 */
import type pg from "pg";
import { toBase64 } from "../ledger/canonical-json.ts";
import { CheckpointFormatError, ED25519_NOTE_ALG, parseVerifierKey } from "../ledger/checkpoint.ts";
import type { Clock } from "../ledger/clock.ts";
import type { Witness } from "./cosignature.ts";
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
   * Handles one add-checkpoint request body: one statement reads the origin's golden checkpoint
   * and quarantine, the pure decision runs, and a newly cosigned size is appended by one insert
   * that the (origin, seq) primary key admits only while that golden row is still the latest.
   * Of concurrent requests decided against one golden row, one appends and is cosigned; the
   * others are decided again against the new row (409: their old size is no longer the latest).
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
    // Optimistic check-then-persist (ADR 0083): one read, the pure decision, one insert whose
    // (origin, seq) primary key only admits it while the read golden row is still the latest.
    // A concurrent request that appended first makes the insert fail (unique_violation); the
    // request is then decided again against the row that won, which answers 409 or 422.
    for (let attempt = 1; ; attempt++) {
      const view = await readWitnessView(this.#o.pool, origin);
      // A peer caught forking or rolling back is never cosigned again (ADR 0084).
      if (view.quarantined) return quarantinedResponse(origin);
      const golden = view.golden;
      const now = this.#o.clock.now();
      const decision = decideAddCheckpoint(
        parsed.request,
        log,
        golden && toTrusted(golden),
        this.#o.witness,
        Math.floor(now.getTime() / 1000),
      );
      if (!decision.ok) return refusalResponse(decision);
      // The same checkpoint again is cosigned afresh, but the golden row stays as it is.
      if (golden && Number(golden.tree_size) === decision.trusted.size) {
        return { status: 200, contentType: TEXT, body: decision.cosignature };
      }
      const seq = golden ? BigInt(golden.seq) + 1n : 1n;
      const appended = await appendGolden(this.#o.pool, origin, seq, decision.trusted, now);
      if (appended === Appended.Done) {
        return { status: 200, contentType: TEXT, body: decision.cosignature };
      }
      if (appended === Appended.Quarantined) return quarantinedResponse(origin);
      // Overtaken: golden rows only grow, so the next decision is a refusal, never a loop.
      if (attempt >= MAX_DECISIONS) {
        throw new Error(
          `witness: the golden checkpoint of ${JSON.stringify(origin.slice(0, 100))} moved ${attempt} times during one request`,
        );
      }
    }
  }

  /** The latest checkpoint this witness cosigned for `origin`, as a cosigned note. */
  async latest(origin: string): Promise<TrustedCheckpoint | undefined> {
    const row = await latestRow(this.#o.pool, origin);
    return row && toTrusted(row);
  }
}

type Db = Pick<pg.Pool, "query">;

/** The latest golden row of `origin`; ordered by the column, not by the text alias. */
const LATEST_GOLDEN = `SELECT w.seq::text AS seq, w.tree_size::text AS tree_size, w.root_hash, w.note
   FROM ledger_witness_checkpoints w WHERE w.origin = $1 ORDER BY w.seq DESC LIMIT 1`;

async function latestRow(db: Db, origin: string): Promise<GoldenRow | undefined> {
  const { rows } = await db.query<GoldenRow>(LATEST_GOLDEN, [origin]);
  return rows[0];
}

/** What one request decides against: the golden row and the quarantine, read in one statement. */
interface WitnessView {
  readonly quarantined: boolean;
  readonly golden: GoldenRow | undefined;
}

async function readWitnessView(db: Db, origin: string): Promise<WitnessView> {
  const { rows } = await db.query<{ quarantined: boolean } & Partial<GoldenRow>>(
    `SELECT EXISTS (SELECT 1 FROM ledger_federation_misbehaviour m WHERE m.origin = $1)
              AS quarantined, g.*
       FROM (SELECT 1) AS one LEFT JOIN LATERAL (${LATEST_GOLDEN}) AS g ON true`,
    [origin],
  );
  const r = rows[0]!;
  return {
    quarantined: r.quarantined,
    golden: r.seq === null || r.seq === undefined ? undefined : (r as GoldenRow),
  };
}

/** How {@link appendGolden} ended. */
const Appended = {
  Done: "Done",
  /** Another request appended this seq first: decide again against its row. */
  Overtaken: "Overtaken",
  /** The origin was quarantined after the read: nothing appended. */
  Quarantined: "Quarantined",
} as const;
type Appended = (typeof Appended)[keyof typeof Appended];

/** Decisions one request may make before giving up (a second one is always a refusal). */
const MAX_DECISIONS = 3;

/**
 * Appends the newly cosigned checkpoint as golden row `seq` of `origin`, in one autocommit
 * statement: the primary key (origin, seq) admits one row per seq, so of two requests decided
 * against the same golden row only the first appends. The insert is skipped when a
 * misbehaviour record exists; recordMisbehaviour (peer-store.ts) holds the table in SHARE mode
 * while it writes one, and Postgres takes this statement's snapshot after its table lock, so a
 * record committed while this insert waited is seen here.
 */
async function appendGolden(
  db: Db,
  origin: string,
  seq: bigint,
  trusted: TrustedCheckpoint,
  now: Date,
): Promise<Appended> {
  try {
    const { rowCount } = await db.query(
      `INSERT INTO ledger_witness_checkpoints
         (origin, seq, tree_size, root_hash, note, cosigned_at)
       SELECT $1::text, $2::bigint, $3::bigint, $4::bytea, $5::text, $6::timestamptz
        WHERE NOT EXISTS (SELECT 1 FROM ledger_federation_misbehaviour m WHERE m.origin = $1)`,
      [origin, seq.toString(), trusted.size, trusted.root, trusted.note, now],
    );
    return rowCount === 1 ? Appended.Done : Appended.Quarantined;
  } catch (err) {
    const e = err as { code?: string; constraint?: string };
    if (e.code === UNIQUE_VIOLATION && e.constraint === GOLDEN_PRIMARY_KEY) {
      return Appended.Overtaken;
    }
    throw err;
  }
}

const UNIQUE_VIOLATION = "23505";
const GOLDEN_PRIMARY_KEY = "ledger_witness_checkpoints_pkey";

function quarantinedResponse(origin: string): WitnessResponse {
  return {
    status: 403,
    contentType: TEXT,
    body: `log origin ${JSON.stringify(origin.slice(0, 100))} is quarantined: a fork or rollback of it was recorded\n`,
    reason: WitnessReason.Quarantined,
  };
}

function toTrusted(row: GoldenRow): TrustedCheckpoint {
  return { size: Number(row.tree_size), root: new Uint8Array(row.root_hash), note: row.note };
}
