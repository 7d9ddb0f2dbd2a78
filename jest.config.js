// Jest runs the TypeScript sources directly through swc; the package is ESM, so jest runs with
// --experimental-vm-modules (set by the npm scripts).
import process from "node:process";
import { OWN_CLUSTER_PROJECT, SHARED_PROJECT } from "./jest.runner.js";

const swc = [
  "@swc/jest",
  {
    jsc: { parser: { syntax: "typescript" }, target: "es2023" },
    module: { type: "es6" },
  },
];

/** @type {import('jest').Config} */
const common = {
  extensionsToTreatAsEsm: [".ts"],
  transform: { "^.+\\.ts$": swc },
  testEnvironment: "node",
  // Local clusters keep etcd data (whose *.snap files jest would take for snapshots) in .cache.
  modulePathIgnorePatterns: ["<rootDir>/.cache/"],
  // With workers, the shared cluster's suites run one at a time beside the rest (ADR 0078).
  runner: "<rootDir>/jest.runner.js",
};

// Integration suites that start a control plane (or a whole product) of their own and never touch
// the shared one, slowest first: with workers they run beside everything else, in this order
// (jest.runner.js), and a fresh clone has no timings to order them by. A suite that uses the
// shared cluster (KUBECONFIG from the global setup) must not be listed here.
const ownCluster = [
  "test/integration/soak-slo.test.ts",
  "test/chaos/chaos-short.test.ts",
  "test/integration/docs-commands.test.ts",
  "test/integration/install-chart.test.ts",
  "test/integration/outage-apiserver.test.ts",
  "test/integration/cluster.test.ts",
].map((f) => `<rootDir>/${f}`);

const integration = {
  ...common,
  globalSetup: "<rootDir>/test/harness/global-setup.ts",
  globalTeardown: "<rootDir>/test/harness/global-teardown.ts",
};

// `npm run test:unit -- <path>` / `test:integration -- <path>` choose a project through
// VAULTMESH_JEST_PROJECT: jest's --selectProjects is variadic and would swallow the path.
// "integration" selects both integration projects.
const only = process.env.VAULTMESH_JEST_PROJECT;

/** @type {import('jest').Config} */
const config = {
  // testTimeout is a global option (ignored inside projects): integration tests start processes
  // and wait for the control plane, so the bound is generous; tests still wait on conditions.
  testTimeout: 120000,
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: ["<rootDir>/{crds,operator,webhooks,services,hack,bench,wargame}/**/*.test.ts"],
    },
    {
      ...integration,
      displayName: SHARED_PROJECT,
      testMatch: ["<rootDir>/test/integration/**/*.test.ts", "<rootDir>/test/chaos/**/*.test.ts"],
      testPathIgnorePatterns: [
        "/node_modules/",
        ...ownCluster.map((f) => `^${f.replaceAll(".", "\\.")}$`),
      ],
    },
    // The same global setup (jest runs one per path): some of these use its Postgres.
    { ...integration, displayName: OWN_CLUSTER_PROJECT, testMatch: ownCluster },
  ],
};

if (only) {
  config.projects = config.projects.filter((p) => p.displayName.split("-")[0] === only);
}

export default config;
