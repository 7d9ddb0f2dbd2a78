/**
 * The ledger's identity: the checkpoint origin it signs under, fixed once at genesis and
 * recorded in the one-row `ledger_identity` table (docs/adr/0081-log-identity-origin-and-witness-key.md).
 * `resolveLogOrigin` (services/ledger/log-origin.ts) decides; this module reads what it
 * needs from the database and records the decision so that every process opening the ledger —
 * operator, webhook, `remembrancer serve`, the CLI — signs under the same origin.
 */
import { OriginSource, resolveLogOrigin, type OriginInputs } from "./log-origin.ts";
import type pg from "pg";

type Queryable = Pick<pg.ClientBase, "query">;

/** The reason code of {@link LedgerOriginError}. */
export const LEDGER_ORIGIN_REFUSED = "LedgerOriginRefused";

/** The ledger cannot be opened under the configured origin, or has none to open under. */
export class LedgerOriginError extends Error {
  readonly reason = LEDGER_ORIGIN_REFUSED;
  constructor(detail: string) {
    super(`ledger origin: ${detail}`);
    this.name = "LedgerOriginError";
  }
}

/**
 * The origin a ledger opened under; `origin` is undefined only for a reader (no signing key,
 * no configured origin) of a ledger that has neither a record nor a tree head yet.
 */
export interface LedgerIdentity {
  readonly origin: string | undefined;
  readonly source: OriginSource | undefined;
}

/**
 * True when a failed decision only means "not decided yet": a process that cannot sign and
 * configures nothing opened a ledger nobody has started. It reads an empty log, which needs no
 * origin; the first signer records one.
 */
export function awaitsGenesis(i: OriginInputs): boolean {
  return (
    (i.configured === undefined || i.configured === "") &&
    i.recorded === undefined &&
    i.latestTreeHead === undefined &&
    i.logPublicKey === undefined
  );
}

/** The origin recorded at genesis, if any. */
export async function recordedOrigin(db: Queryable): Promise<string | undefined> {
  const { rows } = await db.query<{ origin: string }>("SELECT origin FROM ledger_identity");
  return rows[0]?.origin;
}

/** The origin line of the newest tree head, if the log has one. */
export async function latestTreeHeadOrigin(db: Queryable): Promise<string | undefined> {
  const { rows } = await db.query<{ origin: string }>(
    `SELECT split_part(checkpoint, E'\\n', 1) AS origin
       FROM ledger_tree_heads ORDER BY tree_size DESC LIMIT 1`,
  );
  return rows[0]?.origin;
}

/**
 * Decides the ledger's origin and records it when the ledger has no record yet. Two processes
 * doing this at once converge: the row is inserted with ON CONFLICT DO NOTHING and re-read, and
 * whatever the winner recorded is then checked against this process's configuration.
 * Throws {@link LedgerOriginError} with `resolveLogOrigin`'s reason when the configured origin
 * disagrees with the ledger's or none can be chosen.
 */
export async function identifyLedger(
  db: Queryable,
  opts: { readonly configured?: string; readonly logPublicKey?: string; readonly now: Date },
): Promise<LedgerIdentity> {
  const recorded = await recordedOrigin(db);
  const inputs: OriginInputs = {
    ...(opts.configured ? { configured: opts.configured } : {}),
    ...(opts.logPublicKey ? { logPublicKey: opts.logPublicKey } : {}),
    ...(recorded !== undefined ? { recorded } : {}),
  };
  const latest = recorded === undefined ? await latestTreeHeadOrigin(db) : undefined;
  const state = latest === undefined ? inputs : { ...inputs, latestTreeHead: latest };
  const first = resolveLogOrigin(state);
  if (!first.ok) {
    if (awaitsGenesis(state)) return { origin: undefined, source: undefined };
    throw new LedgerOriginError(first.reason);
  }
  if (!first.record) return { origin: first.origin, source: first.source };
  await db.query(
    `INSERT INTO ledger_identity (origin, source, created_at) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING`,
    [first.origin, first.source, opts.now],
  );
  const stored = await recordedOrigin(db);
  if (stored === undefined)
    throw new LedgerOriginError("ledger_identity: the recorded row is gone");
  if (stored === first.origin) return { origin: first.origin, source: first.source };
  // Another process recorded first: its origin is the ledger's, if ours agrees with it.
  const again = resolveLogOrigin({ ...inputs, recorded: stored });
  if (!again.ok) throw new LedgerOriginError(again.reason);
  return { origin: again.origin, source: again.source };
}
