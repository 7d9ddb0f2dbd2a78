/**
 * Federation benchmark (`npm run bench:federation`): prints one JSON document.
 *
 *   --entries N        the peer log's size at the measured sync (default 1,000,000)
 *   --new K            entries the peer appended since the last sync (default 100,000)
 *   --observers O      ledgers that sync with the peer, one measured round each (default 8)
 *   --concurrency C    add-checkpoint requests in flight (default 100)
 *   --rounds R         checkpoints each of the C logs pushes in the load phase (default 20)
 *   --phases LIST      which phases, comma-separated (default add-checkpoint,sync)
 *
 * Sync: a peer ledger on Postgres serves its proof API and witness endpoint over loopback (tree
 * kept in memory, as `remembrancer serve` does). It is filled to N − K entries through the
 * store's own append path (PgLogStore.appendBatch, one signed checkpoint per batch of 4,096
 * synthetic leaves: the receipts are not signed, nothing here reads them). Two groups of O
 * observer ledgers (own databases) each sync once; the peer grows by K; then each observer's
 * second round is timed. Group one times the pull alone, by phase: fetch the checkpoint, fetch
 * the consistency proof N − K → N, and the witness decision that verifies the log signature and
 * the proof, cosigns and appends the golden row in one transaction (WitnessService.addCheckpoint,
 * the code of POST add-checkpoint). Group two times a whole `syncPeer` round (the pull, then its
 * own checkpoint, 10 receipts newer, pushed to the peer and the cosignature checked and kept).
 * Goal: ≤ 50 ms.
 *
 * add-checkpoint (run first: the sync phase leaves a million-entry tree in this process and a
 * fresh bulk load for autovacuum): the real endpoint (buildProofApi + WitnessService, Postgres)
 * over loopback HTTP; C client logs (each its own origin and key) push successive checkpoints
 * with consistency proofs in a closed loop, C requests in flight: every request is a 200 that
 * appends a row. Latency is measured at the client, and inside the witness service; then one
 * log pushes alone (no queueing). Goal: p99 ≤ 5 ms.
 *
 * Postgres is a private instance with fsync and synchronous_commit on. Progress goes to stderr.
 */
import { createHash } from "node:crypto";
import os from "node:os";
import { parseArgs } from "node:util";
import pg from "pg";
import { pino } from "pino";
import { startPostgres } from "../test/harness/postgres.ts";
import { fromBase64 } from "../services/ledger/canonical-json.ts";
import { formatCheckpoint, signNote, verifierKey } from "../services/ledger/checkpoint.ts";
import { systemClock } from "../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519, type Ed25519Signer } from "../services/ledger/ed25519.ts";
import { Ledger } from "../services/ledger/ledger.ts";
import {
  consistencyRanges,
  Frontier,
  hashLeaf,
  mapLookup,
  nodeKey,
  resolveProof,
  type Hash,
} from "../services/ledger/merkle.ts";
import { buildProofApi } from "../services/ledger/proof-api.ts";
import type { PendingLeaf } from "../services/ledger/store/pg-log-store.ts";
import { migrate } from "../services/ledger/store/migrations.ts";
import { createWitness } from "../services/federation/cosignature.ts";
import { syncPeer, type PeerConfig } from "../services/federation/peer-sync.ts";
import { WitnessClient } from "../services/federation/witness-client.ts";
import { formatAddCheckpointRequest } from "../services/federation/witness-protocol.ts";
import { parseWitnessTrust, WitnessService } from "../services/federation/witness-service.ts";

const { values: args } = parseArgs({
  options: {
    entries: { type: "string", default: "1000000" },
    new: { type: "string", default: "100000" },
    observers: { type: "string", default: "8" },
    concurrency: { type: "string", default: "100" },
    rounds: { type: "string", default: "20" },
    phases: { type: "string", default: "add-checkpoint,sync" },
  },
});
const entries = Number(args.entries);
const fresh = Number(args.new);
const observers = Number(args.observers);
const concurrency = Number(args.concurrency);
const rounds = Number(args.rounds);
const phases = args.phases.split(",");
const FILL_BATCH = 4096;
const log = (msg: string): void => void process.stderr.write(`[bench:federation] ${msg}\n`);
const quiet = pino({ level: "silent" });

interface Stats {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

function stats(ms: number[]): Stats {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number =>
    Number((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0).toFixed(3));
  return {
    p50: at(0.5),
    p99: at(0.99),
    max: at(1),
    mean: Number((s.reduce((a, b) => a + b, 0) / (s.length || 1)).toFixed(3)),
  };
}

const pgSettings = {
  shared_buffers: "512MB",
  max_wal_size: "8GB",
  checkpoint_timeout: "30min",
  fsync: "on",
  synchronous_commit: "on",
  max_connections: "300",
};
const server = await startPostgres({ settings: pgSettings });
const pools: pg.Pool[] = [];
async function database(name: string, max: number): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: (await server.createDatabase(name)).url, max });
  pool.on("error", () => undefined);
  pools.push(pool);
  return pool;
}
const vkeyOf = (origin: string, s: Ed25519Signer): string =>
  verifierKey(origin, fromBase64(s.publicKey));

interface SyncFigures {
  readonly goalMs: 50;
  readonly peerEntries: number;
  readonly newEntries: number;
  readonly consistencyProofHashes: number;
  readonly observers: number;
  /** One pull (fetch, verify consistency, cosign), split into its phases below. */
  readonly ms: Stats;
  /** One whole syncPeer round: the pull, then our checkpoint pushed and its cosignature kept. */
  readonly syncPeerRoundMs: Stats;
  readonly phasesMs: Record<"fetchCheckpoint" | "fetchConsistencyProof" | "verifyAndCosign", Stats>;
  readonly metGoal: boolean;
  readonly fill: { path: string; entries: number; seconds: number; perSecond: number };
}

/**
 * A peer ledger of N entries serving its proof API; O observers each trust it at N − K (their
 * first round), then each one's round after K new entries is timed.
 */
async function syncPhase(): Promise<SyncFigures> {
  const PEER = "bench.peer.example/vaultmesh";
  const peerSigner = ed25519Signer(generateEd25519().privateKeyPem);
  const peer = await Ledger.open({
    pool: await database("peer", 8),
    clock: systemClock,
    logger: quiet,
    signer: peerSigner,
    origin: PEER,
    cacheTree: true,
  });
  // Observers running syncPeer: a small ledger each, which the peer witnesses in turn.
  const syncers = await Promise.all(
    Array.from({ length: observers }, async (_, i) => {
      const pool = await database(`syncer${i}`, 4);
      const origin = `bench.syncer${i}.example/vaultmesh`;
      const signer = ed25519Signer(generateEd25519().privateKeyPem);
      const ledger = await Ledger.open({ pool, clock: systemClock, logger: quiet, signer, origin });
      const witness = createWitness(
        `${origin}/witness`,
        ed25519Signer(generateEd25519().privateKeyPem),
        [signer.publicKey],
      );
      return { pool, origin, signer, ledger, witness };
    }),
  );
  const peerWitness = createWitness(
    `${PEER}/witness`,
    ed25519Signer(generateEd25519().privateKeyPem),
    [peerSigner.publicKey],
  );
  const peerApi = buildProofApi({
    ledger: peer,
    witness: new WitnessService({
      pool: peer.store.pool,
      witness: peerWitness,
      logs: parseWitnessTrust(syncers.map((o) => vkeyOf(o.origin, o.signer)).join("\n")),
      clock: systemClock,
    }),
  });
  const peerUrl = await peerApi.listen({ port: 0, host: "127.0.0.1" });
  const client = new WitnessClient({ url: peerUrl });
  const peerConfig: PeerConfig = {
    url: peerUrl,
    origin: PEER,
    logVkeys: [vkeyOf(PEER, peerSigner)],
    witnessVkeys: [peerWitness.vkey],
  };
  let receipts = 0;
  // One syncPeer round of an observer, after it appended a few receipts of its own.
  const syncRound = async (o: (typeof syncers)[number]): Promise<number> => {
    for (let i = 0; i < 10; i++, receipts++) {
      await o.ledger.append({ type: "bench.federation", subject: `r-${receipts}`, payload: {} });
    }
    const t0 = performance.now();
    const out = await syncPeer(
      { pool: o.pool, ledger: o.ledger, witness: o.witness, clock: systemClock },
      peerConfig,
    );
    const ms = performance.now() - t0;
    if (!out.synced) throw new Error(`syncPeer: ${out.reason}: ${out.message}`);
    return ms;
  };

  let filled = 0;
  const signHead = (size: number, root: Hash): string =>
    signNote(formatCheckpoint({ origin: PEER, size, root, extensions: [] }), PEER, peerSigner);
  // Appends synthetic leaves through the store's own batch path until the log has `target`.
  const fillTo = async (target: number): Promise<void> => {
    while (filled < target) {
      const leaves: PendingLeaf[] = [];
      for (const end = Math.min(target, filled + FILL_BATCH); filled < end; filled++) {
        const bytes = Buffer.from(`{"bench":"federation","n":${filled}}`);
        leaves.push({
          digest: createHash("sha256").update(bytes).digest(),
          leafHash: hashLeaf(bytes),
          receiptBytes: bytes,
          type: "bench.federation",
          subject: `leaf-${filled}`,
          issuedAt: new Date(),
        });
      }
      await peer.store.appendBatch(leaves, signHead, new Date());
      if (filled % 102_400 < FILL_BATCH) log(`  peer log at ${filled} entries`);
    }
  };

  log(`sync: filling the peer log to ${entries - fresh} entries`);
  const fill0 = performance.now();
  await fillTo(entries - fresh);
  // Each observer: its own ledger database (the golden table) and witness key, the peer pinned
  // by its log vkey.
  const trust = parseWitnessTrust(`${vkeyOf(PEER, peerSigner)}\n`);
  const observerServices: WitnessService[] = [];
  for (let i = 0; i < observers; i++) {
    const pool = await database(`observer${i}`, 2);
    await migrate(pool);
    const witness = createWitness(
      `bench.observer${i}.example/witness`,
      ed25519Signer(generateEd25519().privateKeyPem),
      [peerSigner.publicKey],
    );
    observerServices.push(new WitnessService({ pool, witness, logs: trust, clock: systemClock }));
  }

  // One round of an observer: fetch, prove consistency from its golden size, verify and cosign.
  const pull = async (w: WitnessService): Promise<Record<string, number>> => {
    const t0 = performance.now();
    const { note, checkpoint } = await client.checkpoint();
    const t1 = performance.now();
    const oldSize = (await w.latest(PEER))?.size ?? 0;
    const proof = oldSize === 0 ? [] : await client.consistencyProof(oldSize, checkpoint.size);
    const t2 = performance.now();
    const r = await w.addCheckpoint(
      new TextEncoder().encode(formatAddCheckpointRequest({ oldSize, proof, note })),
    );
    const t3 = performance.now();
    if (r.status !== 200) throw new Error(`observer refused the peer: ${r.status} ${r.body}`);
    return { total: t3 - t0, checkpoint: t1 - t0, proof: t2 - t1, cosign: t3 - t2 };
  };

  for (const w of observerServices) await pull(w); // trust on first use at N − K
  for (const o of syncers) await syncRound(o);
  log(`sync: the peer grows by ${fresh} entries`);
  await fillTo(entries);
  const fillSeconds = (performance.now() - fill0) / 1000;
  const rounds: Record<string, number>[] = [];
  for (const w of observerServices) rounds.push(await pull(w));
  const syncPeerRounds: number[] = [];
  for (const o of syncers) syncPeerRounds.push(await syncRound(o));
  const hashes = (await client.consistencyProof(entries - fresh, entries)).length;
  await peerApi.close();
  const pick = (k: string): Stats => stats(rounds.map((r) => r[k]!));
  return {
    goalMs: 50,
    peerEntries: entries,
    newEntries: fresh,
    consistencyProofHashes: hashes,
    observers,
    ms: pick("total"),
    syncPeerRoundMs: stats(syncPeerRounds),
    phasesMs: {
      fetchCheckpoint: pick("checkpoint"),
      fetchConsistencyProof: pick("proof"),
      verifyAndCosign: pick("cosign"),
    },
    metGoal: pick("total").p50 <= 50 && stats(syncPeerRounds).p50 <= 50,
    fill: {
      path: "PgLogStore.appendBatch, synthetic unsigned leaves, 4096 per signed checkpoint",
      entries,
      seconds: Number(fillSeconds.toFixed(1)),
      perSecond: Math.round(entries / fillSeconds),
    },
  };
}

interface AddCheckpointFigures {
  readonly goalP99Ms: 5;
  readonly concurrency: number;
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly latencyMs: Stats;
  readonly serverMs: Stats;
  readonly nodeCpuMsPerRequest: number;
  readonly oneAtATimeMs: Stats;
  readonly metGoal: boolean;
}

/**
 * The endpoint over loopback HTTP: C logs push successive checkpoints, C requests in flight;
 * then one more log pushes its checkpoints one at a time.
 */
async function addCheckpointPhase(): Promise<AddCheckpointFigures> {
  log(`add-checkpoint: ${concurrency} logs, ${rounds} checkpoints each, ${concurrency} in flight`);
  // One in-memory tree of `rounds` leaves; every client log has its roots (under its own
  // origin), so every request but the first of a log carries a real consistency proof.
  const nodes = new Map<string, Hash>();
  const roots: Hash[] = [];
  const frontier = new Frontier();
  for (let i = 0; i < rounds; i++) {
    for (const n of frontier.append(hashLeaf(Buffer.from(`leaf ${i}`)))) {
      nodes.set(nodeKey(n), n.hash);
    }
    roots.push(frontier.root());
  }
  const lookup = mapLookup(nodes);
  const logs = Array.from({ length: concurrency + 1 }, (_, i) => ({
    origin: `bench.log${i}.example/log`,
    signer: ed25519Signer(generateEd25519().privateKeyPem),
  }));
  // Request i of a log: size i + 1 from size i, signed up front.
  const bodies = logs.map(({ origin, signer }) =>
    Array.from({ length: rounds }, (_, i) => {
      const note = signNote(
        formatCheckpoint({ origin, size: i + 1, root: roots[i]!, extensions: [] }),
        origin,
        signer,
      );
      const proof = i === 0 ? [] : resolveProof(consistencyRanges(i, i + 1), lookup);
      return formatAddCheckpointRequest({ oldSize: i, proof, note });
    }),
  );
  const pool = await database("witness", 16);
  const ledger = await Ledger.open({
    pool,
    clock: systemClock,
    logger: quiet,
    signer: ed25519Signer(generateEd25519().privateKeyPem),
    origin: "bench.witness.example/vaultmesh",
  });
  const service = new WitnessService({
    pool,
    witness: createWitness(
      "bench.witness.example/witness",
      ed25519Signer(generateEd25519().privateKeyPem),
      [],
    ),
    logs: parseWitnessTrust(logs.map((l) => vkeyOf(l.origin, l.signer)).join("\n")),
    clock: systemClock,
  });
  const serverMs: number[] = [];
  const timed: Pick<WitnessService, "addCheckpoint" | "latest"> = {
    async addCheckpoint(body) {
      const s = performance.now();
      const r = await service.addCheckpoint(body);
      serverMs.push(performance.now() - s);
      return r;
    },
    latest: async (origin) => await service.latest(origin),
  };
  const api = buildProofApi({ ledger, witness: timed });
  const endpoint = `${await api.listen({ port: 0, host: "127.0.0.1" })}/v1/witness/add-checkpoint`;
  const post = async (body: string): Promise<number> => {
    const s = performance.now();
    const r = await fetch(endpoint, { method: "POST", body });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`add-checkpoint answered ${r.status}: ${text}`);
    return performance.now() - s;
  };

  // Warm-up, unmeasured: each log's first checkpoint, one at a time.
  for (const b of bodies) await post(b[0]!);
  serverMs.length = 0;
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    bodies.slice(0, concurrency).map(async (b) => {
      for (const body of b.slice(1)) latencies.push(await post(body));
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const loadServerMs = [...serverMs];
  // The last log, one request at a time: what a request costs without queueing.
  const single: number[] = [];
  for (const body of bodies.at(-1)!.slice(1)) single.push(await post(body));
  await api.close();
  return {
    goalP99Ms: 5,
    concurrency,
    requests: latencies.length,
    seconds: Number(seconds.toFixed(2)),
    perSecond: Math.round(latencies.length / seconds),
    latencyMs: stats(latencies),
    serverMs: stats(loadServerMs),
    nodeCpuMsPerRequest: Number(((cpu.user + cpu.system) / 1000 / latencies.length).toFixed(3)),
    oneAtATimeMs: stats(single),
    metGoal: stats(latencies).p99 <= 5,
  };
}

// add-checkpoint first: the sync phase leaves a 1M-entry tree in this process's memory and a
// freshly bulk-loaded database for autovacuum to work on.
const addCheckpoint = phases.includes("add-checkpoint") ? await addCheckpointPhase() : undefined;
const sync = phases.includes("sync") ? await syncPhase() : undefined;
process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: "federation",
      machine: { cpus: os.cpus().length, node: process.version, loadAverage1m: os.loadavg()[0] },
      postgres: pgSettings,
      ...(sync ? { sync } : {}),
      ...(addCheckpoint ? { addCheckpoint } : {}),
    },
    null,
    2,
  )}\n`,
);
for (const p of pools) await p.end();
await server.stop();
