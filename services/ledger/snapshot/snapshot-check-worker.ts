/**
 * Worker-thread entry of {@link EntryCheckPool}: checks each batch of snapshot lines it is
 * sent ({@link checkEntryBatch}) and posts the result back with the batch's bytes, moving the
 * buffers rather than copying them.
 */
import { parentPort } from "node:worker_threads";
import { checkEntryBatch } from "./snapshot-entries.ts";

parentPort?.on("message", (m: { id: number; batch: Uint8Array; tuples: boolean }) => {
  const result = checkEntryBatch(m.batch, m.tuples);
  const moved = [m.batch.buffer, result.indexes.buffer, result.leaves.buffer];
  if (result.tuples) moved.push(result.tuples.buffer);
  parentPort?.postMessage({ id: m.id, batch: m.batch, result }, moved as ArrayBuffer[]);
});
