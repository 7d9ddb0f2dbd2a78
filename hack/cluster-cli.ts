// `npm run cluster -- up|down|env|status [--name NAME]`: the local control plane for `make dev`.
// A cluster started with `up` outlives this command; `down` stops it and removes its state.
import { join } from "node:path";
import { groupAlive } from "./cluster/process.ts";
import { readState, repoRoot, startCluster, stopCluster } from "./cluster/cluster.ts";

function usage(msg?: string): never {
  if (msg) console.error(`cluster: ${msg}`);
  console.error("usage: npm run cluster -- up|down|env|status [--name NAME]");
  process.exit(2);
}

const args = process.argv.slice(2);
const verb = args[0];
const nameIdx = args.indexOf("--name");
const name = nameIdx >= 0 ? args[nameIdx + 1] : (process.env.VAULTMESH_CLUSTER ?? "dev");
if (!name || !/^[a-z0-9-]{1,40}$/.test(name))
  usage("--name must be 1-40 characters of a-z, 0-9 and -");
const dir = join(repoRoot, ".cache/clusters", name);
const state = await readState(dir);
const alive = state !== undefined && Object.values(state.pids).every(groupAlive);

switch (verb) {
  case "up": {
    if (alive) {
      console.log(`cluster ${name} already running; export KUBECONFIG=${state.kubeconfig}`);
      break;
    }
    if (state) await stopCluster(state); // leftovers of a crashed cluster
    const c = await startCluster({ dir, name, lifeline: false, log: (m) => console.error(m) });
    console.log(`export KUBECONFIG=${c.kubeconfig}`);
    break;
  }
  case "down":
    if (state) await stopCluster(state);
    console.error(state ? `cluster ${name} stopped` : `cluster ${name} was not running`);
    break;
  case "env":
    if (!alive) usage(`cluster ${name} is not running (npm run cluster -- up)`);
    console.log(`export KUBECONFIG=${state.kubeconfig}`);
    break;
  case "status":
    if (!state) {
      console.log(`cluster ${name}: not running`);
      process.exit(1);
    }
    for (const [c, pid] of Object.entries(state.pids)) {
      console.log(`${c.padEnd(24)} pid ${pid} ${groupAlive(pid) ? "running" : "DEAD"}`);
    }
    process.exit(alive ? 0 : 1);
    break;
  default:
    usage(verb ? `unknown command ${verb}` : undefined);
}
