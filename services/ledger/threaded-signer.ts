/**
 * An Ed25519 signer that also signs off the main thread. Receipt signing is the largest CPU
 * cost of an append (~40% of the main thread at 5,000 appends/s); with a worker the event
 * loop keeps hashing, building statements and talking to Postgres while another core signs.
 * Requests made in the same tick go to a worker as one message.
 */
import { Worker } from "node:worker_threads";
import { ed25519Signer, type Ed25519Signer } from "./ed25519.ts";

interface Pending {
  readonly data: Uint8Array;
  resolve(sig: Uint8Array): void;
  reject(err: unknown): void;
}

/** An {@link Ed25519Signer} with `signAsync` served by worker threads, and `close`. */
export interface ThreadedSigner extends Ed25519Signer {
  signAsync(data: Uint8Array): Promise<Uint8Array>;
  /** Stops the workers; pending requests are rejected. */
  close(): Promise<void>;
  /**
   * Signatures made so far per signing thread, keyed by the `threadId` each worker reported
   * for itself (the main thread's is 0; inline `sign` calls are not counted).
   */
  signaturesByThread(): ReadonlyMap<number, number>;
}

/** Starts `threads` signing workers for a PKCS#8 PEM Ed25519 key. */
export function threadedSigner(privateKeyPem: string, threads = 1): ThreadedSigner {
  const inline = ed25519Signer(privateKeyPem);
  const workers = Array.from({ length: Math.max(1, threads) }, () => {
    return new Worker(new URL("./signing-worker.ts", import.meta.url), {
      workerData: { privateKeyPem },
    });
  });
  const inflight = new Map<number, Pending[]>();
  const byThread = new Map<number, number>();
  let queue: Pending[] = [];
  let seq = 0;
  let next = 0;
  let scheduled = false;

  const failAll = (err: unknown): void => {
    for (const batch of inflight.values()) for (const p of batch) p.reject(err);
    inflight.clear();
  };
  for (const w of workers) {
    w.on("message", (m: { id: number; sigs: Uint8Array[]; threadId: number }) => {
      byThread.set(m.threadId, (byThread.get(m.threadId) ?? 0) + m.sigs.length);
      const batch = inflight.get(m.id);
      inflight.delete(m.id);
      batch?.forEach((p, i) => p.resolve(m.sigs[i]!));
    });
    w.on("error", failAll);
    w.unref(); // after the listeners, which would ref it again: idle workers must not keep the process alive
  }
  const flush = (): void => {
    scheduled = false;
    const batch = queue;
    queue = [];
    const id = seq++;
    inflight.set(id, batch);
    workers[next++ % workers.length]!.postMessage({ id, items: batch.map((p) => p.data) });
  };

  return {
    keyId: inline.keyId,
    publicKey: inline.publicKey,
    sign: (data) => inline.sign(data),
    signAsync(data: Uint8Array): Promise<Uint8Array> {
      return new Promise((resolve, reject) => {
        queue.push({ data, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    signaturesByThread: () => new Map(byThread),
    async close(): Promise<void> {
      failAll(new Error("signer closed"));
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
