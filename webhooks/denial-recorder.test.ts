import { describe, expect, it } from "@jest/globals";
import type { DenialRecord, WebhookLogger } from "./deps.ts";
import type { DenialReceipt } from "./denial-receipt.ts";
import { DenialRecorder, type DenialSink } from "./denial-recorder.ts";
import { WebhookMetrics } from "./metrics.ts";

const denial = (uid: string): DenialRecord => ({
  webhook: "gpuworkloads.validate.vaultmesh.cloud",
  policy: "gpuworkload",
  path: "/validate/gpuworkloads",
  requestUid: uid,
  operation: "CREATE",
  group: "vaultmesh.cloud",
  version: "v1alpha1",
  kind: "GPUWorkload",
  namespace: "tenant-acme",
  name: `w-${uid}`,
  username: "alice",
  errors: [{ field: "spec.gpu.count", message: "exceeds the tenant's quota of 8" }],
  time: "2026-06-01T10:00:00.000Z",
});

interface Logged {
  level: string;
  obj: object;
  msg?: string;
}

function capturingLogger(): { logger: WebhookLogger; lines: Logged[] } {
  const lines: Logged[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  return {
    lines,
    logger: { info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") },
  };
}

async function counts(m: WebhookMetrics): Promise<Record<string, number>> {
  const metric = await m.denialReceipts.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.result), v.value]));
}

/** A sink whose appends wait until the test releases them. */
function gatedSink(): { sink: DenialSink; seen: DenialReceipt[]; release(): void } {
  const seen: DenialReceipt[] = [];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return {
    seen,
    release: () => open(),
    sink: async (r) => {
      seen.push(r);
      await gate;
      return { existing: false };
    },
  };
}

describe("DenialRecorder", () => {
  it("appends every queued denial as a receipt and counts new and already-logged ones", async () => {
    const metrics = new WebhookMetrics();
    const logged = new Set<string>();
    const sink: DenialSink = (r) => {
      const existing = logged.has(r.subject.uid);
      logged.add(r.subject.uid);
      return Promise.resolve({ existing });
    };
    const rec = new DenialRecorder({ sink, metrics, logger: capturingLogger().logger });
    rec.record(denial("a"));
    rec.record(denial("b"));
    rec.record({ ...denial("a"), time: "2026-06-01T10:00:02.000Z" });
    await rec.drain();
    expect([...logged]).toEqual(["a", "b"]);
    expect(await counts(metrics)).toEqual({ recorded: 2, duplicate: 1 });
  });

  it("never waits for the ledger: a full queue drops the newest denial, counts and logs it", async () => {
    const metrics = new WebhookMetrics();
    const { logger, lines } = capturingLogger();
    const gated = gatedSink();
    const rec = new DenialRecorder({
      sink: gated.sink,
      metrics,
      logger,
      capacity: 2,
      concurrency: 1,
    });
    for (const uid of ["1", "2", "3", "4", "5"]) rec.record(denial(uid)); // returns at once
    // One appending (held by the gate), two queued, two dropped.
    expect(gated.seen.map((r) => r.subject.uid)).toEqual(["1"]);
    expect(rec.queued).toBe(2);
    expect(await counts(metrics)).toEqual({ dropped: 2 });
    expect((await metrics.denialReceiptQueue.get()).values[0]?.value).toBe(2);
    const warnings = lines.filter((l) => l.level === "warn");
    expect(warnings).toHaveLength(1); // once per episode, not once per drop
    expect(warnings[0]?.msg).toContain("queue full");

    gated.release();
    await rec.drain();
    expect(gated.seen.map((r) => r.subject.uid)).toEqual(["1", "2", "3"]);
    expect(await counts(metrics)).toEqual({ dropped: 2, recorded: 3 });
    expect(lines.filter((l) => l.level === "warn").at(-1)?.obj).toEqual({ dropped: 2 });
  });

  it("counts and logs a failed append and goes on with the next", async () => {
    const metrics = new WebhookMetrics();
    const { logger, lines } = capturingLogger();
    const sink: DenialSink = (r) =>
      r.subject.uid === "down"
        ? Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432"))
        : Promise.resolve({ existing: false });
    const rec = new DenialRecorder({ sink, metrics, logger });
    rec.record(denial("down"));
    rec.record(denial("up"));
    await rec.drain();
    expect(await counts(metrics)).toEqual({ failed: 1, recorded: 1 });
    expect(lines.filter((l) => l.level === "error")).toEqual([
      {
        level: "error",
        obj: {
          err: "connect ECONNREFUSED 127.0.0.1:5432",
          uid: "down",
          webhook: "gpuworkloads.validate.vaultmesh.cloud",
        },
        msg: "recording policy.denied failed",
      },
    ]);
  });

  it("counts a denial that cannot become a receipt as failed", async () => {
    const metrics = new WebhookMetrics();
    const seen: DenialReceipt[] = [];
    const rec = new DenialRecorder({
      sink: (r) => {
        seen.push(r);
        return Promise.resolve({ existing: false });
      },
      metrics,
      logger: capturingLogger().logger,
    });
    rec.record({ ...denial("x"), time: "not a time" });
    await rec.drain();
    expect(seen).toEqual([]);
    expect(await counts(metrics)).toEqual({ failed: 1 });
  });

  it.each([
    ["capacity", { capacity: 0 }],
    ["concurrency", { concurrency: 1.5 }],
  ])("refuses a bad %s", (field, opts) => {
    const make = (): DenialRecorder =>
      new DenialRecorder({
        sink: () => Promise.resolve({ existing: false }),
        metrics: new WebhookMetrics(),
        logger: capturingLogger().logger,
        ...opts,
      });
    expect(make).toThrow(field);
  });
});
