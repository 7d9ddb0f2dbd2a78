/**
 * The state of each dependency of a process (Postgres, Redis, the TSA, Stripe, Discord, the
 * API server's caches…) in one place: clients report up and down through a
 * {@link DependencyReporter}, transitions are logged once (never a secret), and /readyz reads
 * {@link DependencyHealth.statuses} to say what is down and why. A dependency the process
 * degrades around (`required: false`) shows in the report without failing readiness; a
 * required one fails it. Liveness never reads this: a process whose database is away is
 * degraded, not dead, and restarting it would only add a crash loop's backoff to the outage.
 */
import { describeError, OutageReason, type OutageReasonCode } from "./dependency-errors.ts";

/** Up, Down, or Unknown (registered, not yet checked). */
export const DependencyState = { Up: "Up", Down: "Down", Unknown: "Unknown" } as const;

/** One of {@link DependencyState}'s values. */
export type DependencyStateValue = (typeof DependencyState)[keyof typeof DependencyState];

/** The reported state of one dependency. */
export interface DependencyStatus {
  readonly name: string;
  readonly state: DependencyStateValue;
  /** CamelCase reason (`Connected`, or an {@link OutageReason}). */
  readonly reason: string;
  /** Redacted detail (the last error's code and message). */
  readonly message: string;
  /** When the state last changed (RFC 3339). */
  readonly since: string;
  /** Whether readiness fails while it is down. */
  readonly required: boolean;
  /** What the process does while it is down (shown on /readyz). */
  readonly whileDown: string;
}

/** How one client reports its dependency's state. */
export interface DependencyReporter {
  readonly name: string;
  /** The dependency answered. */
  up(): void;
  /** The dependency is away; `err` is described (redacted) for the log and /readyz. */
  down(reason: OutageReasonCode, err: unknown): void;
  /** The current state. */
  status(): DependencyStatus;
}

/** Options of {@link DependencyHealth.register}. */
export interface RegisterOptions {
  /** Readiness fails while this dependency is down. @default false */
  readonly required?: boolean;
  /** What the process does while it is down, e.g. "completions wait for their receipt". */
  readonly whileDown?: string;
}

/** Minimal logger (pino-compatible). */
export interface HealthLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** The dependencies of one process and their current state. */
export class DependencyHealth {
  readonly #clock: { now(): Date };
  readonly #log: HealthLogger;
  readonly #deps = new Map<string, DependencyStatus>();
  readonly #listeners: ((s: DependencyStatus) => void)[] = [];

  constructor(deps: { readonly clock: { now(): Date }; readonly logger: HealthLogger }) {
    this.#clock = deps.clock;
    this.#log = deps.logger;
  }

  /** Registers `name` (state Unknown until its client reports) and returns its reporter. */
  register(name: string, opts: RegisterOptions = {}): DependencyReporter {
    if (!this.#deps.has(name)) {
      this.#deps.set(name, {
        name,
        state: DependencyState.Unknown,
        reason: OutageReason.NotConnected,
        message: "",
        since: this.#clock.now().toISOString(),
        required: opts.required ?? false,
        whileDown: opts.whileDown ?? "",
      });
    }
    return {
      name,
      up: () => this.#set(name, DependencyState.Up, "Connected", ""),
      down: (reason, err) => this.#set(name, DependencyState.Down, reason, describeError(err)),
      status: () => this.#deps.get(name)!,
    };
  }

  /** Calls `fn` on every state change (metrics). */
  onChange(fn: (s: DependencyStatus) => void): void {
    this.#listeners.push(fn);
  }

  /**
   * Calls `fn` each time the dependency `name` comes back after being down (not on its first
   * connection): work that failed while it was away is retried at once, not at the end of its
   * backoff, and state a server may have lost (a Redis without persistence) is written again.
   */
  onReturn(name: string, fn: () => void): void {
    let down = this.#deps.get(name)?.state === DependencyState.Down;
    this.onChange((s) => {
      if (s.name !== name) return;
      if (s.state === DependencyState.Up && down) fn();
      down = s.state === DependencyState.Down;
    });
  }

  /** Every registered dependency, by name. */
  statuses(): DependencyStatus[] {
    return [...this.#deps.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  #set(name: string, state: DependencyStateValue, reason: string, message: string): void {
    const prev = this.#deps.get(name);
    if (!prev) return;
    // A repeat of the same state only refreshes the detail: logs and `since` mark transitions.
    if (prev.state === state && prev.reason === reason) {
      if (prev.message !== message) this.#deps.set(name, { ...prev, message });
      return;
    }
    const next = { ...prev, state, reason, message, since: this.#clock.now().toISOString() };
    this.#deps.set(name, next);
    if (state === DependencyState.Down) {
      this.#log.warn({ dependency: name, reason, err: message }, `${name} is down`);
    } else if (prev.state === DependencyState.Down) {
      this.#log.info({ dependency: name, downSince: prev.since }, `${name} is back`);
    }
    // A listener that throws must not reach whoever reported the change (a pool's error
    // handler, a probe timer): logged, and the other listeners still run.
    for (const fn of this.#listeners) {
      try {
        fn(next);
      } catch (err) {
        this.#log.warn({ dependency: name, err }, `a listener of ${name}'s state failed`);
      }
    }
  }
}

/** A readiness verdict and the lines that explain it. */
export interface ReadinessReport {
  readonly ready: boolean;
  /** kube-apiserver style: `[+]name ok` or `[-]name down: Reason: detail (since …)`. */
  readonly text: string;
}

/** A check that is not a dependency (e.g. "informer caches synced"). */
export interface ReadinessCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly message?: string;
}

/**
 * The readiness verdict for `checks` (all must pass) and `deps` (each required one must be
 * Up; an optional one that is down reads "degraded"). Pure.
 */
export function readinessReport(
  checks: readonly ReadinessCheck[],
  deps: readonly DependencyStatus[],
): ReadinessReport {
  const lines: string[] = [];
  let ready = true;
  for (const c of checks) {
    if (!c.ok) ready = false;
    lines.push(c.ok ? `[+]${c.name} ok` : `[-]${c.name} failed: ${c.message ?? "not yet"}`);
  }
  for (const d of deps) {
    if (d.state === DependencyState.Up) {
      lines.push(`[+]${d.name} ok`);
      continue;
    }
    const failing = d.required;
    if (failing) ready = false;
    const what = d.state === DependencyState.Unknown ? "not yet connected" : "down";
    const detail = [d.reason, d.message].filter(Boolean).join(": ");
    const consequence = !failing && d.whileDown ? `; degraded: ${d.whileDown}` : "";
    lines.push(
      `[${failing ? "-" : "~"}]${d.name} ${what}: ${detail} (since ${d.since})${consequence}`,
    );
  }
  lines.push(ready ? "readyz check passed" : "readyz check failed");
  return { ready, text: `${lines.join("\n")}\n` };
}
