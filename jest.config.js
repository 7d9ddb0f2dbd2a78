// Jest runs the TypeScript sources directly through swc; the package is ESM, so jest runs with
// --experimental-vm-modules (set by the npm scripts).
import process from "node:process";

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
};

// `npm run test:unit -- <path>` / `test:integration -- <path>` choose a project through
// VAULTMESH_JEST_PROJECT: jest's --selectProjects is variadic and would swallow the path.
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
      ...common,
      displayName: "integration",
      testMatch: ["<rootDir>/test/integration/**/*.test.ts", "<rootDir>/test/chaos/**/*.test.ts"],
      globalSetup: "<rootDir>/test/harness/global-setup.ts",
      globalTeardown: "<rootDir>/test/harness/global-teardown.ts",
    },
  ],
};

if (only) config.projects = config.projects.filter((p) => p.displayName === only);

export default config;
