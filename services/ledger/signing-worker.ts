/**
 * Worker-thread entry for {@link threadedSigner}: signs batches of messages with the Ed25519
 * key it was started with and posts the signatures back in order, with its thread id.
 */
import { createPrivateKey, sign } from "node:crypto";
import { parentPort, threadId, workerData } from "node:worker_threads";

const key = createPrivateKey((workerData as { privateKeyPem: string }).privateKeyPem);
parentPort?.on("message", (m: { id: number; items: Uint8Array[] }) => {
  const sigs = m.items.map((d) => new Uint8Array(sign(null, d, key)));
  // threadId: the runtime's id of this thread (never 0, the main thread's), so a caller can
  // tell from outside that the signatures were made here.
  parentPort?.postMessage({ id: m.id, sigs, threadId });
});
