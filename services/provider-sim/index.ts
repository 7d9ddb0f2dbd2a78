// The provider simulator (services/provider-sim): protocol v1 with an injected clock and
// injectable faults. Import from here.
export { buildServer, type SimDeps, type SimFaults } from "./app.ts";
export { startProviderSim, type ListenOptions, type RunningSim } from "./server.ts";
export {
  jobIdFor,
  SIM_LABELS,
  stableJson,
  viewOf,
  type SimDurations,
  type SimFate,
  type SimJob,
} from "./sim-jobs.ts";
