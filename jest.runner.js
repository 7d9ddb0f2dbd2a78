// The test runner of every jest project (ADR 0078). Run in band (one file, `--runInBand`, or one
// worker) it is jest's own runner. With workers (`make test` passes --maxWorkers), the suites of
// the shared control plane (the "integration" project: one cluster and one Postgres from the
// global setup) run one at a time in a lane of their own, while the unit suites and the suites
// that start a control plane or a whole product of their own run alongside on the other workers,
// those longest first. Most integration time is spent waiting (control planes starting, backoff,
// outages held, a soak's load), so a two-core machine runs several of them at once; the shared
// cluster's suites stay serial because some assert on cluster-wide state (the GPU pool's nodes)
// that a concurrent suite may change.
/* eslint-disable @typescript-eslint/explicit-module-boundary-types -- JavaScript (jest loads it
   untransformed): the boundary types are the JSDoc tags below. */
import TestRunner, { EmittingTestRunner } from "jest-runner";
import process from "node:process";

/** Display name of the project whose suites share the global setup's control plane. */
export const SHARED_PROJECT = "integration";

/** Display name of the project whose suites start their own control plane (jest.config.js). */
export const OWN_CLUSTER_PROJECT = "integration-own-cluster";

/**
 * Workers of the shared-cluster lane: VAULTMESH_JEST_SHARED_WORKERS, default 1 (serial). Raise it
 * only once every shared-cluster suite tolerates another one running beside it.
 * @returns {number}
 */
function sharedLaneWorkers() {
  const raw = process.env.VAULTMESH_JEST_SHARED_WORKERS ?? "1";
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`VAULTMESH_JEST_SHARED_WORKERS: want a whole number >= 1, got "${raw}"`);
  }
  return n;
}

/**
 * @param {import("jest-runner").Test} t
 * @returns {string | undefined}
 */
const project = (t) => t.context.config.displayName?.name;

/**
 * Own-cluster suites first, in the order jest.config.js lists them (slowest first), then the rest
 * in jest's order: a fresh clone has no timings, and jest would otherwise start the two-minute
 * soak last (it orders unknown files by size).
 * @param {import("jest-runner").Test[]} tests
 * @returns {import("jest-runner").Test[]}
 */
function longestFirst(tests) {
  const rank = (/** @type {import("jest-runner").Test} */ t) => {
    if (project(t) !== OWN_CLUSTER_PROJECT) return Number.MAX_SAFE_INTEGER;
    const i = t.context.config.testMatch.indexOf(t.path);
    return i < 0 ? Number.MAX_SAFE_INTEGER - 1 : i;
  };
  return tests
    .map((t, i) => ({ t, i, r: rank(t) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.t);
}

/** Jest's runner, split into the shared-cluster lane and the lane of everything else. */
export default class LaneRunner extends EmittingTestRunner {
  /** @type {TestRunner} */
  #shared;
  /** @type {TestRunner} */
  #rest;

  /**
   * @param {import("@jest/types").Config.GlobalConfig} globalConfig
   * @param {import("jest-runner").TestRunnerContext} context
   * @param {Record<string, unknown>} [options]
   */
  constructor(globalConfig, context, options) {
    super(globalConfig, context, options);
    const total = Math.max(1, globalConfig.maxWorkers);
    const shared = Math.max(1, Math.min(sharedLaneWorkers(), total - 1));
    this.#shared = new TestRunner({ ...globalConfig, maxWorkers: shared }, context, options);
    this.#rest = new TestRunner(
      { ...globalConfig, maxWorkers: Math.max(1, total - shared) },
      context,
      options,
    );
  }

  /**
   * @param {import("jest-runner").Test[]} tests
   * @param {import("jest-runner").TestWatcher} watcher
   * @param {import("jest-runner").TestRunnerOptions} options
   * @returns {Promise<void>}
   */
  async runTests(tests, watcher, options) {
    if (options.serial) return await this.#rest.runTests(tests, watcher, options);
    const shared = tests.filter((t) => project(t) === SHARED_PROJECT);
    const rest = longestFirst(tests.filter((t) => project(t) !== SHARED_PROJECT));
    await Promise.all([
      shared.length > 0 ? this.#shared.runTests(shared, watcher, options) : undefined,
      rest.length > 0 ? this.#rest.runTests(rest, watcher, options) : undefined,
    ]);
  }

  /**
   * Jest subscribes before it runs the tests: both lanes report to the same listener.
   * @template {string} Name
   * @param {Name} eventName
   * @param {(payload: import("jest-runner").TestEvents[Name]) => void | Promise<void>} listener
   * @returns {() => void}
   */
  on(eventName, listener) {
    const offs = [this.#shared.on(eventName, listener), this.#rest.on(eventName, listener)];
    return () => {
      for (const off of offs) off();
    };
  }
}
