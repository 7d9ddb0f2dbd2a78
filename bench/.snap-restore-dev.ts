// temporary dev script (not committed): restore a saved snapshot into a fresh DB and time it
import pg from "pg";
import { loadavg } from "node:os";
import { startPostgres } from "../test/harness/postgres.ts";
import { restoreSnapshot } from "../services/ledger/snapshot/snapshot-restore.ts";
const file = process.argv[2]!;
const server = await startPostgres({
  settings: { shared_buffers: "512MB", max_wal_size: "8GB", checkpoint_timeout: "30min" },
});
const pool = new pg.Pool({ connectionString: (await server.createDatabase("snap_dst")).url, max: 4 });
pool.on("error", () => undefined);
try {
  const l0 = loadavg();
  const t = performance.now(); const c = process.cpuUsage();
  const s = await restoreSnapshot({ pool, file });
  const sec = (performance.now() - t) / 1000; const u = process.cpuUsage(c);
  const sz = await pool.query("SELECT pg_database_size(current_database()) AS b");
  console.log(JSON.stringify({ sec: sec.toFixed(1), nodeCpu: ((u.user + u.system) / 1e6).toFixed(2), size: s.statement.treeSize, db: sz.rows[0].b, load: [l0, loadavg()].map((l) => l.map((x) => x.toFixed(2))) }));
} finally {
  await pool.end();
  await server.stop();
}
