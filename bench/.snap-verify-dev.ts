// temporary dev script (not committed)
import { verifySnapshot } from "../services/ledger/snapshot/snapshot-restore.ts";
const c = process.cpuUsage(); const t = performance.now();
const s = await verifySnapshot(process.argv[2]!);
const u = process.cpuUsage(c);
console.log(JSON.stringify({ wall: ((performance.now() - t) / 1000).toFixed(2), cpu: ((u.user + u.system) / 1e6).toFixed(2), size: s.statement.treeSize }));
