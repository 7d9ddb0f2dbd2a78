import { describe, expect, it } from "@jest/globals";
import { WorkQueue, type Timers } from "./work-queue.ts";

/** Manual timers: `advance(ms)` fires due callbacks in time order. */
function fakeTimers(): Timers & { advance(ms: number): void } {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = ++seq;
      pending.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => void pending.delete(h as number),
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...pending.entries()]
          .filter(([, p]) => p.at <= end)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        pending.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
  };
}

describe("WorkQueue", () => {
  it("holds one entry per key", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
  });

  it("never hands out a key in flight; an add during processing re-queues it after done", async () => {
    const q = new WorkQueue();
    q.add("a");
    const k = await q.get();
    q.add("a");
    expect(q.len()).toBe(0);
    expect(q.inFlight()).toBe(1);
    q.done(k as string);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe("a");
  });

  it("hands a key to a waiting worker immediately", async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.add("x");
    expect(await p).toBe("x");
  });

  it.each([
    { failures: 0, want: 100 },
    { failures: 1, want: 200 },
    { failures: 5, want: 3200 },
    { failures: 20, want: 60000 },
  ])("backs off $failures failures by $want ms (base 100, cap 60 s)", ({ failures, want }) => {
    expect(new WorkQueue({ baseDelayMs: 100, maxDelayMs: 60000 }).backoffFor(failures)).toBe(want);
  });

  it("retries a failing key after its backoff, and forget resets it", () => {
    const t = fakeTimers();
    const q = new WorkQueue({ timers: t, baseDelayMs: 100, maxDelayMs: 1000 });
    expect(q.addRateLimited("k")).toBe(100);
    expect(q.addRateLimited("k")).toBe(200);
    expect(q.numRequeues("k")).toBe(2);
    t.advance(99);
    expect(q.len()).toBe(0);
    t.advance(1);
    expect(q.len()).toBe(1);
    q.forget("k");
    expect(q.numRequeues("k")).toBe(0);
  });

  it("keeps the earliest addAfter for a key", () => {
    const t = fakeTimers();
    const q = new WorkQueue({ timers: t });
    q.addAfter("k", 1000);
    q.addAfter("k", 5000);
    q.addAfter("k", 300);
    t.advance(300);
    expect(q.len()).toBe(1);
    t.advance(5000);
    expect(q.len()).toBe(1);
  });

  it("drains then returns undefined after shutdown", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.shutDown();
    q.add("b");
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBeUndefined();
  });
});
