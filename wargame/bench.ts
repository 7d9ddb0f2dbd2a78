// Fast-mode speed: each shipped scenario run once, wall and CPU seconds and workloads per
// second of wall time, as JSON (the goal: ≥ 10,000 workloads in < 10 s per scenario).
//   node wargame/bench.ts [scenario.yaml…]   (default: wargame/scenarios/*.yaml)
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { runScenario } from "./engine.ts";
import { parseScenario } from "./scenario.ts";

const dir = path.join(import.meta.dirname, "scenarios");
const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : (await readdir(dir)).filter((f) => f.endsWith(".yaml")).map((f) => path.join(dir, f));
const runs = [];
for (const f of files.sort()) {
  const s = parseScenario(await readFile(f, "utf8"), f);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await runScenario(s);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  runs.push({
    scenario: s.name,
    workloads: r.workloads,
    wallSeconds: Math.round(wall * 100) / 100,
    cpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
    workloadsPerWallSecond: Math.round(r.workloads / wall),
    fillRate: r.fillRate,
  });
}
console.log(JSON.stringify({ node: process.version, runs }, null, 2));
