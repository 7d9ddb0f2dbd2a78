import { afterEach, describe, expect, it } from "@jest/globals";
import {
  Informer,
  KubeClient,
  Resources,
  type ChangeHandler,
  type KubeObject,
} from "../../services/kube/index.ts";
import { Controller, onlyStatusChanged, type Result } from "./controller.ts";
import type { Timers } from "./work-queue.ts";

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

// Lets the workers take what the queue holds and finish their reconciles.
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

const workload = (name: string): KubeObject => ({ metadata: { name, namespace: "ns" } });

describe("Controller watches", () => {
  let client: KubeClient | undefined;
  let controller: Controller | undefined;
  afterEach(async () => {
    await controller?.stop();
    client?.close();
  });

  // A controller whose primary informer is never started (no server is asked) and one watch
  // fed by hand, mapping every object to the key "treaty-a".
  // `outcome(n)` is what its n-th reconcile (from 1) does: nothing by default.
  async function setup(
    coalesceMs: number | undefined,
    outcome: (n: number) => Result | void = () => {},
  ) {
    const timers = fakeTimers();
    client = await KubeClient.create({
      server: "http://127.0.0.1:9",
      tls: {},
      headers: () => Promise.resolve({}),
      source: "test",
    });
    const reconciled: string[] = [];
    let emit: ChangeHandler<KubeObject> = () => {};
    controller = new Controller<KubeObject>({
      name: "treaty",
      for: new Informer<KubeObject>(client, Resources.Treaty),
      workers: 1,
      resyncMs: 0,
      timers,
      reconcile: (req) => {
        const n = reconciled.push(req.key);
        return Promise.resolve().then(() => outcome(n));
      },
    });
    controller.watch<KubeObject>({
      informer: { on: (h) => void (emit = h) },
      map: () => ["treaty-a"],
      ...(coalesceMs === undefined ? {} : { coalesceMs }),
    });
    controller.start();
    return {
      timers,
      reconciled,
      emit: (o: KubeObject, old?: KubeObject) => emit("update", o, old),
    };
  }

  it("queues the mapped key at once without coalesceMs", async () => {
    const { reconciled, emit } = await setup(undefined);
    emit(workload("w-1"));
    await settle();
    expect(reconciled).toEqual(["treaty-a"]);
  });

  it("queues a lone change at once and a burst once per coalesceMs", async () => {
    const { timers, reconciled, emit } = await setup(2000);
    emit(workload("w-first"));
    await settle();
    expect(reconciled).toEqual(["treaty-a"]); // leading edge: no delay after a quiet time
    for (let i = 0; i < 50; i++) {
      emit(workload(`w-${i}`));
      timers.advance(30); // 50 more changes over 1.5 s
    }
    await settle();
    expect(reconciled).toHaveLength(1);
    timers.advance(500); // 2 s after the first: one more pass for all 50
    await settle();
    expect(reconciled).toEqual(["treaty-a", "treaty-a"]);
    emit(workload("w-late")); // within 2 s of that pass: waits for the interval's end
    timers.advance(1999);
    await settle();
    expect(reconciled).toHaveLength(2);
    timers.advance(1);
    await settle();
    expect(reconciled).toHaveLength(3);
    timers.advance(5000);
    emit(workload("w-after-quiet"));
    await settle();
    const wantFour = 4;
    expect(reconciled).toHaveLength(wantFour);
  });

  it("queues a key that both versions of a change map to once, without a trailing pass", async () => {
    const { timers, reconciled, emit } = await setup(1000);
    emit(workload("w-new"), workload("w-old")); // both map to "treaty-a"
    await settle();
    expect(reconciled).toEqual(["treaty-a"]);
    timers.advance(5000); // a second queueing would have scheduled a pass at t=1000
    await settle();
    expect(reconciled).toEqual(["treaty-a"]);
  });

  it("sees a change after a retry overtook the coalesced pass", async () => {
    const { timers, reconciled, emit } = await setup(1000, (n) => {
      if (n === 1) throw new Error("conflict"); // retried after 100 ms (the base backoff)
    });
    emit(workload("w-0")); // t=0: at once
    await settle();
    expect(reconciled).toHaveLength(1);
    timers.advance(50);
    emit(workload("w-50")); // t=50: a pass at t=1000, but the retry at t=100 comes first
    timers.advance(50);
    await settle();
    expect(reconciled).toHaveLength(2); // t=100: the retry, which sees w-50
    timers.advance(100);
    emit(workload("w-200")); // t=200: within 1 s of the retry's pass, so held back to t=1100
    timers.advance(899);
    await settle();
    expect(reconciled).toHaveLength(2);
    timers.advance(1);
    await settle();
    expect(reconciled).toHaveLength(3); // t=1100: w-200 is seen
    timers.advance(10_000);
    await settle();
    expect(reconciled).toHaveLength(3);
  });

  it("sees a change after a short requeueAfterMs overtook the coalesced pass", async () => {
    const { timers, reconciled, emit } = await setup(1000, (n) =>
      n === 1 ? { requeueAfterMs: 10 } : undefined,
    );
    emit(workload("w-0")); // t=0: at once; it asks to be requeued at t=10
    await settle();
    expect(reconciled).toHaveLength(1);
    timers.advance(5);
    emit(workload("w-5")); // t=5: a pass at t=1000, but the requeue at t=10 comes first
    timers.advance(5);
    await settle();
    expect(reconciled).toHaveLength(2); // t=10: the requeue, which sees w-5
    timers.advance(190);
    emit(workload("w-200")); // t=200: held back to t=1010
    timers.advance(809);
    await settle();
    expect(reconciled).toHaveLength(2);
    timers.advance(1);
    await settle();
    expect(reconciled).toHaveLength(3); // t=1010: w-200 is seen
    timers.advance(10_000);
    await settle();
    expect(reconciled).toHaveLength(3);
  });

  it("throttles status-only updates of a primary object by statusUpdateCoalesceMs", async () => {
    const timers = fakeTimers();
    client = await KubeClient.create({
      server: "http://127.0.0.1:9",
      tls: {},
      headers: () => Promise.resolve({}),
      source: "test",
    });
    const primary = new Informer<KubeObject>(client, Resources.Treaty);
    const handlers: ChangeHandler<KubeObject>[] = [];
    // The informer's change stream, fed by hand (it is never started).
    const feed = { on: (h: ChangeHandler<KubeObject>) => void handlers.push(h) };
    primary.on = feed.on;
    const reconciled: string[] = [];
    controller = new Controller<KubeObject>({
      name: "treaty",
      for: primary,
      workers: 1,
      resyncMs: 0,
      timers,
      statusUpdateCoalesceMs: 2000,
      reconcile: (req) => {
        reconciled.push(req.key);
        return Promise.resolve();
      },
    });
    controller.start();
    const old: KubeObject = { metadata: { name: "pool", generation: 1 } };
    const send = (obj: KubeObject): void => handlers.forEach((h) => h("update", obj, old));
    send({ ...old, status: { activeJobs: 1 } });
    await settle();
    expect(reconciled).toEqual(["pool"]);
    send({ ...old, status: { activeJobs: 2 } }); // e.g. its own status write, just after
    await settle();
    expect(reconciled).toEqual(["pool"]);
    send({ metadata: { name: "pool", generation: 2 } }); // a spec change is never held back
    await settle();
    expect(reconciled).toEqual(["pool", "pool"]);
    timers.advance(2000);
    await settle();
    expect(reconciled).toEqual(["pool", "pool", "pool"]);
  });
});

describe("onlyStatusChanged", () => {
  const base: KubeObject = {
    metadata: { name: "t", generation: 3, labels: { a: "1" }, annotations: { b: "2" } },
  };
  it.each<[string, KubeObject, boolean]>([
    ["a status write", { ...base, status: { activeJobs: 4 } }, true],
    ["a spec change", { metadata: { ...base.metadata, generation: 4 } }, false],
    ["a label change", { metadata: { ...base.metadata, labels: { a: "9" } } }, false],
    ["an annotation change", { metadata: { ...base.metadata, annotations: {} } }, false],
    ["a finalizer added", { metadata: { ...base.metadata, finalizers: ["x"] } }, false],
    [
      "deletion started",
      { metadata: { ...base.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } },
      false,
    ],
  ])("%s", (_what, next, want) => {
    expect(onlyStatusChanged(base, next)).toBe(want);
  });
});
