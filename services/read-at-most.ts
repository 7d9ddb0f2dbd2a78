/**
 * Reading an HTTP response body with a byte cap: a declared `content-length` over the cap is
 * refused before anything is read, and a streamed body is cancelled as soon as it passes the
 * cap, so a peer cannot make a client buffer an unbounded answer. The one home of that rule
 * for the clients under services/ (the TSA client, the provider client, the witness client).
 */

/** The part of a ReadableStream {@link readAtMost} reads (fetch's Response body has it). */
export interface CappedBodyStream {
  getReader(): {
    read(): Promise<{ done: boolean; value?: Uint8Array }>;
    cancel(reason?: unknown): Promise<void>;
  };
}

/** What {@link readAtMost} needs of a response: its headers and its body stream. */
export interface CappedBodySource {
  readonly headers: { get(name: string): string | null };
  readonly body?: CappedBodyStream | null;
}

/** The body of `res`, at most `max` bytes; throws `tooLarge()` (after cancelling) past that. */
export async function readAtMost(
  res: CappedBodySource,
  max: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  const reader = res.body?.getReader();
  if (Number(res.headers.get("content-length") ?? "0") > max) {
    await reader?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!value) continue;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** Discards a response body without reading it (frees the connection). */
export async function discardBody(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}
