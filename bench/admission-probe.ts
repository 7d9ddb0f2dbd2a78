/**
 * What the admission benchmark's processes report about themselves, so that its JSON says where
 * a latency tail comes from: event-loop delay percentiles (perf_hooks.monitorEventLoopDelay),
 * garbage-collection pauses by kind (PerformanceObserver 'gc'), event-loop utilisation and CPU
 * time, all over a window that {@link Probe.reset} starts. Shared by the bench, its server child
 * and its load-generator child; nothing here is imported by the production server.
 */
import { readFileSync } from "node:fs";
import {
  PerformanceObserver,
  constants,
  type PerformanceEntry,
  monitorEventLoopDelay,
  performance,
  type EventLoopUtilization,
} from "node:perf_hooks";

/** Percentiles of a sample. */
export interface Stats {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

const round3 = (x: number): number => Number(x.toFixed(3));

/** Percentiles of a sample, in the sample's unit, rounded to 3 decimals. */
export function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number =>
    round3(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0);
  return {
    n: s.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: round3(s.at(-1) ?? 0),
  };
}

/** GC pauses of one kind over a window, in milliseconds. */
export interface GcFigures {
  readonly count: number;
  readonly total_ms: number;
  readonly max_ms: number;
}

/** One process's figures over a window. */
export interface ProbeReport {
  readonly window_s: number;
  /**
   * How late a timer that should fire every `resolution` ms actually fired, in ms: the time the
   * event loop was blocked (by a request, a GC pause, or the process not being scheduled).
   */
  readonly event_loop_delay_ms: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  /** Share of the window the event loop was busy rather than waiting for I/O. */
  readonly event_loop_utilization: number;
  /** GC pauses by kind (minor = scavenge of the young generation). */
  readonly gc: Record<string, GcFigures>;
  /** Share of the window spent in GC pauses. */
  readonly gc_share: number;
  /** CPU time (user + system) over the window, in cores. */
  readonly cpu_cores: number;
  readonly heap_used_mb: number;
  /**
   * Time the main thread (the event loop) was ready to run but waiting for a CPU, and how often
   * the kernel took the CPU away from it: other processes on its core, not our code. Null where
   * /proc does not say.
   */
  readonly runqueue_wait_ms: number | null;
  readonly involuntary_switches: number | null;
}

/** The main thread's run-queue wait (ns) and involuntary context switches, from /proc. */
function schedFigures(): { waitNs: number; switches: number } | undefined {
  try {
    const waitNs = Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[1]);
    const m = /nonvoluntary_ctxt_switches:\s*(\d+)/.exec(
      readFileSync("/proc/thread-self/status", "utf8"),
    );
    return Number.isFinite(waitNs) && m ? { waitNs, switches: Number(m[1]) } : undefined;
  } catch {
    return undefined;
  }
}

/** Starts and reads a measurement window of the calling process. */
export interface Probe {
  reset(): void;
  report(): ProbeReport;
  stop(): void;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

/** Watches the calling process's event loop and GC; `resolutionMs` is the delay timer's period. */
export function startProbe(resolutionMs = 2): Probe {
  let delay: ReturnType<typeof monitorEventLoopDelay> = monitorEventLoopDelay({
    resolution: resolutionMs,
  });
  delay.enable();
  let gc = new Map<string, { count: number; total: number; max: number }>();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const { detail } = e as PerformanceEntry & { detail?: { kind?: number } };
      const kind = GC_KINDS[detail?.kind ?? -1] ?? "other";
      const g = gc.get(kind) ?? { count: 0, total: 0, max: 0 };
      g.count++;
      g.total += e.duration;
      g.max = Math.max(g.max, e.duration);
      gc.set(kind, g);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  let t0 = performance.now();
  let cpu0 = process.cpuUsage();
  let elu0: EventLoopUtilization = performance.eventLoopUtilization();
  let sched0 = schedFigures();
  // The histogram holds the intervals between the timer's firings, period included.
  const lateMs = (ns: number): number => round3(Math.max(0, ns / 1e6 - resolutionMs));
  return {
    reset(): void {
      delay.disable();
      delay = monitorEventLoopDelay({ resolution: resolutionMs });
      delay.enable();
      gc = new Map();
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      elu0 = performance.eventLoopUtilization();
      sched0 = schedFigures();
    },
    report(): ProbeReport {
      const window = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const sched = schedFigures();
      const gcOut: Record<string, GcFigures> = {};
      let gcTotal = 0;
      for (const [kind, g] of gc) {
        gcOut[kind] = { count: g.count, total_ms: round3(g.total), max_ms: round3(g.max) };
        gcTotal += g.total;
      }
      return {
        window_s: round3(window),
        event_loop_delay_ms: {
          p50: lateMs(delay.percentile(50)),
          p90: lateMs(delay.percentile(90)),
          p99: lateMs(delay.percentile(99)),
          max: lateMs(delay.max),
        },
        event_loop_utilization: round3(performance.eventLoopUtilization(elu0).utilization),
        gc: gcOut,
        gc_share: round3(gcTotal / 1000 / window),
        cpu_cores: round3((cpu.user + cpu.system) / 1e6 / window),
        heap_used_mb: round3(process.memoryUsage().heapUsed / 2 ** 20),
        runqueue_wait_ms: sched && sched0 ? round3((sched.waitNs - sched0.waitNs) / 1e6) : null,
        involuntary_switches: sched && sched0 ? sched.switches - sched0.switches : null,
      };
    },
    stop(): void {
      delay.disable();
      observer.disconnect();
    },
  };
}
