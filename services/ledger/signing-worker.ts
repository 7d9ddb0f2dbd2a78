/**
 * Worker-thread entry for {@link threadedSigner}: signs batches of messages with the Ed25519
 * key it was started with and posts the signatures back in order.
 */
import { createPrivateKey, sign } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";

const key = createPrivateKey((workerData as { privateKeyPem: string }).privateKeyPem);
parentPort?.on("message", (m: { id: number; items: Uint8Array[] }) => {
  const sigs = m.items.map((d) => new Uint8Array(sign(null, d, key)));
  parentPort?.postMessage({ id: m.id, sigs });
});
