// The denial ledger's sink through an outage, without a database: appends that meet an outage
// are tried again (the same signed receipt) until they land or the server closes; any other
// error fails at once; the dependency is reported down and up as the appends see it.
import { describe, expect, it } from "@jest/globals";
import { pino } from "pino";
import { DependencyHealth } from "../services/dependency-health/index.ts";
import { fixedClock } from "../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../services/ledger/ed25519.ts";
import type { Ledger } from "../services/ledger/ledger.ts";
import { denialReceipt } from "./denial-receipt.ts";
import { ledgerSink } from "./denial-ledger.ts";
import type { DenialRecord } from "./deps.ts";

const signer = ed25519Signer(generateEd25519().privateKeyPem);
const record: DenialRecord = {
  webhook: "gpuworkloads.validate.vaultmesh.cloud",
  policy: "gpuworkload",
  path: "/validate/gpuworkloads",
  requestUid: "00000000-0000-4000-8000-000000000001",
  operation: "CREATE",
  group: "vaultmesh.cloud",
  version: "v1alpha1",
  kind: "GPUWorkload",
  namespace: "tenant-acme",
  name: "w1",
  username: "alice",
  errors: [{ field: "spec.gpu.count", message: "Invalid value: 99" }],
  time: "2026-01-01T00:00:00.000Z",
};
const refused = (): Error =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

/** A ledger whose appends answer `results` in order (an Error is thrown). */
function fakeLedger(results: (Error | "ok")[]): {
  ledger: () => Promise<Ledger>;
  digests: string[];
} {
  const digests: string[] = [];
  const ledger = {
    appendReceipt: (r: { digest: string }) => {
      digests.push(r.digest);
      const next = results.shift() ?? "ok";
      return next === "ok" ? Promise.resolve({ existing: false }) : Promise.reject(next);
    },
  } as unknown as Ledger;
  return { ledger: () => Promise.resolve(ledger), digests };
}

const reporter = () =>
  new DependencyHealth({
    clock: fixedClock("2026-01-01T00:00:00Z", 1000),
    logger: pino({ level: "silent" }),
  }).register("ledger-postgres");

describe("ledgerSink", () => {
  it("retries an append that met an outage, the same receipt each time, until it lands", async () => {
    const { ledger, digests } = fakeLedger([refused(), refused(), "ok"]);
    const dep = reporter();
    const states: string[] = [];
    const sink = ledgerSink(ledger, signer, dep, {
      intervalMs: 1,
      signal: new AbortController().signal,
    });
    const done = sink(denialReceipt(record)).then((r) => {
      states.push(dep.status().state);
      return r;
    });
    expect(await done).toEqual({ existing: false });
    expect(digests).toHaveLength(3);
    expect(new Set(digests).size).toBe(1);
    expect(states).toEqual(["Up"]);
  });

  it("fails at once without retry, on an error that is not an outage, and once closed", async () => {
    const dep = reporter();
    let { ledger } = fakeLedger([refused()]);
    await expect(ledgerSink(ledger, signer, dep)(denialReceipt(record))).rejects.toThrow(
      /ECONNREFUSED/,
    );
    expect(dep.status()).toMatchObject({ state: "Down", reason: "Unreachable" });

    ({ ledger } = fakeLedger([new Error("duplicate key value violates unique constraint")]));
    const signal = new AbortController().signal;
    await expect(
      ledgerSink(ledger, signer, dep, { intervalMs: 1, signal })(denialReceipt(record)),
    ).rejects.toThrow(/duplicate key/);

    const closing = new AbortController();
    ({ ledger } = fakeLedger([refused(), refused(), refused(), refused()]));
    const pending = ledgerSink(ledger, signer, dep, {
      intervalMs: 60_000,
      signal: closing.signal,
    })(denialReceipt(record));
    closing.abort();
    await expect(pending).rejects.toThrow(/ECONNREFUSED/);
  });
});
