/**
 * Versioned schema migrations for the ledger tables. Each migration runs once, in its own
 * transaction, under an advisory lock so that two processes starting together do not race.
 * Every ledger table is append-only: triggers refuse UPDATE, DELETE and TRUNCATE, so a
 * change needs a superuser who disables them — which `verify-audit` then detects.
 */
import type pg from "pg";

/** One schema change. Versions are dense and never reused. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const appendOnly = (table: string): string => `
CREATE TRIGGER ${table}_no_update_delete BEFORE UPDATE OR DELETE ON ${table}
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_mutation();
CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_mutation();`;

/** All migrations in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "entries, tree nodes, tree heads, stamps; append-only triggers",
    sql: `
CREATE FUNCTION ledger_refuse_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

-- One row per receipt. receipt holds the exact RFC 8785 bytes that were hashed into the leaf.
CREATE TABLE ledger_entries (
  log_index   bigint PRIMARY KEY CHECK (log_index >= 0),
  leaf_hash   bytea NOT NULL UNIQUE CHECK (octet_length(leaf_hash) = 32),
  digest      bytea NOT NULL UNIQUE CHECK (octet_length(digest) = 32),
  type        text NOT NULL,
  subject     text NOT NULL,
  issued_at   timestamptz NOT NULL,
  appended_at timestamptz NOT NULL,
  receipt     bytea NOT NULL
);
CREATE INDEX ledger_entries_issued_at ON ledger_entries (issued_at);
CREATE INDEX ledger_entries_type ON ledger_entries (type, log_index);

-- Every complete (perfect) subtree above the leaves: level L, index i covers leaves
-- [i*2^L, (i+1)*2^L). Proofs for any tree size are served from these alone.
CREATE TABLE ledger_nodes (
  level smallint NOT NULL CHECK (level > 0),
  idx   bigint NOT NULL CHECK (idx >= 0),
  hash  bytea NOT NULL CHECK (octet_length(hash) = 32),
  PRIMARY KEY (level, idx)
);

-- One signed checkpoint (C2SP signed note, Ed25519) per appended batch.
CREATE TABLE ledger_tree_heads (
  tree_size  bigint PRIMARY KEY CHECK (tree_size > 0),
  root_hash  bytea NOT NULL CHECK (octet_length(root_hash) = 32),
  checkpoint text NOT NULL,
  created_at timestamptz NOT NULL
);

-- Published tree heads: an OpenPGP signature and an RFC 3161 token over the checkpoint body.
CREATE TABLE ledger_tree_head_stamps (
  tree_size         bigint PRIMARY KEY REFERENCES ledger_tree_heads (tree_size),
  openpgp_signature text,
  tsa_token         bytea,
  gen_time          timestamptz,
  created_at        timestamptz NOT NULL
);
${appendOnly("ledger_entries")}
${appendOnly("ledger_nodes")}
${appendOnly("ledger_tree_heads")}
${appendOnly("ledger_tree_head_stamps")}
`,
  },
  {
    version: 2,
    name: "public keys the ledger has signed with",
    sql: `
-- Public keys only: shipped in proof bundles so any reader can export a self-contained
-- bundle. Verifiers pin their own copy; these rows vouch for nothing by themselves.
CREATE TABLE ledger_keys (
  key_id     text PRIMARY KEY,
  kind       text NOT NULL CHECK (kind IN ('ed25519', 'openpgp', 'tsa')),
  public_key text NOT NULL,
  created_at timestamptz NOT NULL
);
${appendOnly("ledger_keys")}
`,
  },
  {
    version: 3,
    name: "the log's identity: its origin, recorded once (ADR 0081)",
    sql: `
-- Exactly one row (the primary key can only be true), written when the ledger is first opened
-- and never changed: the origin every checkpoint of this log is signed under.
CREATE TABLE ledger_identity (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  origin     text NOT NULL CHECK (origin <> ''),
  source     text NOT NULL CHECK (source IN ('Configured', 'Derived', 'LatestTreeHead')),
  created_at timestamptz NOT NULL
);
${appendOnly("ledger_identity")}
`,
  },
  {
    version: 4,
    name: "checkpoints this ledger cosigned as a witness, per peer origin (ADR 0083)",
    sql: `
-- The witness's trusted ("golden") checkpoint of each peer log is its row with the highest seq:
-- append-only history, one row per newly cosigned size. seq is the previous seq + 1, chosen
-- inside the transaction that holds the origin's lock, so two writers that somehow both got
-- past the lock collide on the primary key instead of both being cosigned.
CREATE TABLE ledger_witness_checkpoints (
  origin      text NOT NULL CHECK (origin <> ''),
  seq         bigint NOT NULL CHECK (seq >= 1),
  tree_size   bigint NOT NULL CHECK (tree_size >= 0),
  root_hash   bytea NOT NULL CHECK (octet_length(root_hash) = 32),
  note        text NOT NULL,
  cosigned_at timestamptz NOT NULL,
  PRIMARY KEY (origin, seq)
);
${appendOnly("ledger_witness_checkpoints")}
`,
  },
  {
    version: 5,
    name: "federation peers: their cosignatures of our checkpoints, misbehaviour records (ADR 0084)",
    sql: `
-- Our own checkpoints as a peer's witness cosigned them: one row per newly cosigned size of
-- ours, per peer origin; the latest is the row with the highest seq. note is our checkpoint
-- with the peer's cosignature line; cosigned_at is that cosignature's own timestamp (seconds).
CREATE TABLE ledger_peer_cosignatures (
  origin      text NOT NULL CHECK (origin <> ''),
  seq         bigint NOT NULL CHECK (seq >= 1),
  tree_size   bigint NOT NULL CHECK (tree_size >= 0),
  root_hash   bytea NOT NULL CHECK (octet_length(root_hash) = 32),
  note        text NOT NULL,
  cosigned_at bigint NOT NULL CHECK (cosigned_at >= 0),
  received_at timestamptz NOT NULL,
  PRIMARY KEY (origin, seq)
);
-- A peer log caught forking or rolling back: while a row exists for its origin, this ledger's
-- witness cosigns nothing of it (pulled or pushed). Append-only, so it never clears by itself.
-- evidence is the MisbehaviourEvidence JSON (both signed notes and the failing proof).
CREATE TABLE ledger_federation_misbehaviour (
  origin      text NOT NULL CHECK (origin <> ''),
  seq         bigint NOT NULL CHECK (seq >= 1),
  kind        text NOT NULL CHECK (kind IN ('Forked', 'RolledBack')),
  evidence    jsonb NOT NULL,
  detected_at timestamptz NOT NULL,
  PRIMARY KEY (origin, seq)
);
${appendOnly("ledger_peer_cosignatures")}
${appendOnly("ledger_federation_misbehaviour")}
`,
  },
  {
    version: 6,
    name: "peer logs the witness trusts, recorded from FederationPeers (ADR 0094)",
    sql: `
-- The pinned log keys of the peers this ledger's witness cosigns, one row per origin and raw
-- Ed25519 key, grouped by the source that pinned them (the operator's 'FederationPeers': it
-- replaces its set in one transaction whenever a FederationPeer changes). Not append-only: it
-- mirrors configuration whose history lives in the cluster; what was cosigned stays in
-- ledger_witness_checkpoints.
CREATE TABLE ledger_witness_trust (
  source     text NOT NULL CHECK (source <> ''),
  origin     text NOT NULL CHECK (origin <> ''),
  public_key bytea NOT NULL CHECK (octet_length(public_key) = 32),
  peer       text NOT NULL CHECK (peer <> ''),
  pinned_at  timestamptz NOT NULL,
  PRIMARY KEY (source, origin, public_key, peer)
);
CREATE INDEX ledger_witness_trust_origin ON ledger_witness_trust (origin);
`,
  },
  {
    version: 7,
    name: "full-text search over receipts and decisions (ADR 0142)",
    sql: `
-- The stored receipt bytes as JSON. convert_from is only STABLE (it depends on the server
-- encoding, which a database never changes), so a generated column needs this IMMUTABLE wrapper.
CREATE FUNCTION ledger_receipt_json(receipt bytea) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT convert_from(receipt, 'UTF8')::jsonb $$;
-- Type and subject weigh most (A); then the payload's string values (D). Keys, digests and
-- signatures are not indexed. Stored, so queries never re-parse receipts.
ALTER TABLE ledger_entries ADD COLUMN search tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('english'::regconfig, translate(type, '._:/-', '     ') || ' ' || subject), 'A') ||
  setweight(to_tsvector('english'::regconfig, ledger_receipt_json(receipt) -> 'payload'), 'D')
) STORED;
CREATE INDEX ledger_entries_search ON ledger_entries USING gin (search);
`,
  },
];

const LOCK_KEY = 0x766d6c67; // "vmlg"

/**
 * Applies every migration inside the caller's open transaction on a database that has none
 * (snapshot restore: a refused restore rolls the schema back with the data, ADR 0140).
 */
export async function migrateInTransaction(
  client: Pick<pg.ClientBase, "query">,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<void> {
  await client.query(`CREATE TABLE ledger_schema_migrations (
    version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  for (const m of migrations) {
    await client.query(m.sql);
    await client.query("INSERT INTO ledger_schema_migrations (version, name) VALUES ($1, $2)", [
      m.version,
      m.name,
    ]);
  }
}

/** Applies pending migrations; returns the versions applied now. */
export async function migrate(
  pool: pg.Pool,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS ledger_schema_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>(
      "SELECT version FROM ledger_schema_migrations",
    );
    const done = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query("INSERT INTO ledger_schema_migrations (version, name) VALUES ($1, $2)", [
          m.version,
          m.name,
        ]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK");
        throw new Error(
          `ledger migration ${m.version} (${m.name}) failed: ${(err as Error).message}`,
        );
      }
      applied.push(m.version);
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
  return applied;
}
