// The test runner of every jest project (ADR 0078). Run in band (one file, `--runInBand`, or one
// worker) it is jest's own runner. With workers (`make test` passes --maxWorkers), three lanes run
// side by side: the suites of the shared control plane (the "integration" project: one cluster
// and one Postgres from the global setup) one at a time, since some assert on cluster-wide state
// (the GPU pool's nodes) that a concurrent suite may change; the suites that start a control plane
// or a whole product of their own one at a time, longest first; the unit suites on the remaining
// workers. Most integration time is spent waiting (control planes starting, backoff, outages held,
// a soak's load), so a two-core machine runs a suite of each lane at once.
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
 * The own-cluster suites in the order jest.config.js lists them (slowest first): a fresh clone has
 * no timings, and jest would otherwise start the two-minute soak last (it orders unknown files by
 * size).
 * @param {import("jest-runner").Test[]} tests
 * @returns {import("jest-runner").Test[]}
 */
function listedOrder(tests) {
  const rank = (/** @type {import("jest-runner").Test} */ t) => {
    const i = t.context.config.testMatch.indexOf(t.path);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return tests
    .map((t, i) => ({ t, i, r: rank(t) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.t);
}

/**
 * @param {import("@jest/types").Config.GlobalConfig} globalConfig
 * @param {number} maxWorkers
 * @param {import("jest-runner").TestRunnerContext} context
 * @param {Record<string, unknown> | undefined} options
 * @returns {TestRunner}
 */
const lane = (globalConfig, maxWorkers, context, options) =>
  new TestRunner({ ...globalConfig, maxWorkers }, context, options);

/**
 * Jest's runner in three lanes: the shared-cluster suites one at a time; the own-cluster suites
 * one at a time (each starts a control plane and a fleet of processes: two at once on two cores
 * starved each other's start-ups past their bounds); the unit suites on the remaining workers.
 * With only two workers the own-cluster and unit suites share the second, own-cluster first.
 */
export default class LaneRunner extends EmittingTestRunner {
  /** @type {TestRunner} */
  #shared;
  /** @type {TestRunner} */
  #own;
  /** @type {TestRunner | undefined} */
  #unit;

  /**
   * @param {import("@jest/types").Config.GlobalConfig} globalConfig
   * @param {import("jest-runner").TestRunnerContext} context
   * @param {Record<string, unknown>} [options]
   */
  constructor(globalConfig, context, options) {
    super(globalConfig, context, options);
    const total = Math.max(1, globalConfig.maxWorkers);
    const shared = Math.max(1, Math.min(sharedLaneWorkers(), total - 1));
    const rest = Math.max(1, total - shared);
    this.#shared = lane(globalConfig, shared, context, options);
    this.#own = lane(globalConfig, 1, context, options);
    this.#unit = rest >= 2 ? lane(globalConfig, rest - 1, context, options) : undefined;
  }

  /**
   * @param {import("jest-runner").Test[]} tests
   * @param {import("jest-runner").TestWatcher} watcher
   * @param {import("jest-runner").TestRunnerOptions} options
   * @returns {Promise<void>}
   */
  async runTests(tests, watcher, options) {
    if (options.serial) return await this.#own.runTests(tests, watcher, options);
    const of = (/** @type {string} */ name) => tests.filter((t) => project(t) === name);
    const shared = of(SHARED_PROJECT);
    const own = listedOrder(of(OWN_CLUSTER_PROJECT));
    const rest = tests.filter((t) => !shared.includes(t) && !own.includes(t));
    /** @type {[TestRunner, import("jest-runner").Test[]][]} */
    const lanes = this.#unit
      ? [
          [this.#shared, shared],
          [this.#own, own],
          [this.#unit, rest],
        ]
      : [
          [this.#shared, shared],
          [this.#own, [...own, ...rest]],
        ];
    await Promise.all(
      lanes.map(([runner, ts]) =>
        ts.length > 0 ? runner.runTests(ts, watcher, options) : undefined,
      ),
    );
  }

  /**
   * Jest subscribes before it runs the tests: every lane reports to the same listener.
   * @template {string} Name
   * @param {Name} eventName
   * @param {(payload: import("jest-runner").TestEvents[Name]) => void | Promise<void>} listener
   * @returns {() => void}
   */
  on(eventName, listener) {
    const lanes = [this.#shared, this.#own, ...(this.#unit ? [this.#unit] : [])];
    const offs = lanes.map((l) => l.on(eventName, listener));
    return () => {
      for (const off of offs) off();
    };
  }
}
