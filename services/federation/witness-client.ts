/**
 * The HTTP client of a peer ledger (or of any c2sp.org/tlog-witness witness): its latest
 * checkpoint (`GET /v1/checkpoint`), consistency proofs from its proof API
 * (`GET /v1/proof/consistency`), the checkpoint it cosigned for an origin
 * (`GET /v1/witness/checkpoint?origin=`) and `POST add-checkpoint` under its witness prefix.
 *
 * Nothing a peer sends is trusted in size or shape: every answer is capped at 16 KiB (the
 * transparency-dev witness's cap), every request has a deadline, redirects are never followed
 * (a 3xx is an error), a proof has at most 63 hashes, a note at most 16 signatures, and a size
 * past 2^53 − 1 is refused, never rounded. Failures are {@link WitnessClientError}s with a
 * {@link WitnessClientReason}; callers branch on the reason, never on the message.
 * Signatures are not checked here: peer-sync.ts verifies against the pinned keys.
 */
import { fromHex } from "../ledger/canonical-json.ts";
import {
  CheckpointFormatError,
  CheckpointSizeError,
  MAX_NOTE_SIGNATURES,
  parseCheckpoint,
  parseNote,
  type Checkpoint,
} from "../ledger/checkpoint.ts";
import type { Hash } from "../ledger/merkle.ts";
import {
  caFetch,
  isPeerHttpError,
  PeerHttpError,
  PeerHttpReason,
  peerRequest,
  type PeerAnswer,
  type PeerRequestInit,
} from "./peer-http.ts";
import {
  formatAddCheckpointRequest,
  parseTlogSize,
  TLOG_SIZE_CONTENT_TYPE,
  WITNESS_MAX_BODY_BYTES,
  WITNESS_MAX_PROOF_HASHES,
  type AddCheckpointRequest,
} from "./witness-protocol.ts";

/** Why a request to a peer failed. */
export const WitnessClientReason = {
  /**
   * Unreachable, Timeout, Redirected, Oversized (also a proof over 63 hashes, a note over 16
   * signatures) and Malformed (also not a note, not a proof) as in peer-http.ts.
   */
  ...PeerHttpReason,
  /** A tree size past 2^53 − 1 (refused, never rounded). */
  SizeTooLarge: "SizeTooLarge",
  /** 404: an empty log, or (add-checkpoint) an origin the witness does not know. */
  NotFound: "NotFound",
  /** 403: (add-checkpoint) no valid signature of a key the witness trusts for the origin. */
  Forbidden: "Forbidden",
  /** 400: the peer found the request malformed (or a proof for sizes it does not have). */
  BadRequest: "BadRequest",
  /** 409 `text/x.tlog.size`: the old size is not the one the witness last cosigned. */
  StaleOldSize: "StaleOldSize",
  /**
   * 422, or 409 without `text/x.tlog.size` (older witnesses): the witness refuses the
   * checkpoint as inconsistent with the one it cosigned (same size with another root, a proof
   * that does not verify).
   */
  Conflict: "Conflict",
  /** Any other status (5xx, 401, …). */
  HttpError: "HttpError",
} as const;
export type WitnessClientReason = (typeof WitnessClientReason)[keyof typeof WitnessClientReason];

/** A failed request to a peer: the reason constant, the HTTP status if any, the URL. */
export class WitnessClientError extends PeerHttpError<WitnessClientReason> {
  override readonly name: string = "WitnessClientError";
  /** For {@link WitnessClientReason.StaleOldSize}: the size the witness last cosigned. */
  readonly size: number | undefined;

  constructor(
    reason: WitnessClientReason,
    message: string,
    opts: { url: string; status?: number; size?: number; cause?: unknown },
  ) {
    super(reason, message, opts);
    this.size = opts.size;
  }
}

/** Options of a {@link WitnessClient}. */
export interface WitnessClientOptions {
  /** Base URL of the peer's proof API (`/v1/checkpoint`, `/v1/proof/consistency` below it). */
  readonly url: string;
  /**
   * The tlog-witness URL prefix (`add-checkpoint` is appended).
   * @default `${url}/v1/witness/`
   */
  readonly witnessUrl?: string;
  /** Deadline of each request, in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
  /** Cap on each answer's body. @default 16384 */
  readonly maxBodyBytes?: number;
  /**
   * PEM CA certificates the peer's TLS certificate must chain to, instead of the system roots
   * (FederationPeer `spec.trustAnchor.caBundle`); ignored when `fetch` is given.
   */
  readonly caBundle?: string;
  /** The fetch implementation. @default globalThis.fetch, or {@link caFetch} with `caBundle` */
  readonly fetch?: typeof fetch;
}

/** A peer's checkpoint as served: the note text and its parsed (unverified) body. */
export interface FetchedCheckpoint {
  readonly note: string;
  readonly checkpoint: Checkpoint;
}

/** The answer of {@link WitnessClient.pushCheckpoint}. */
export interface PushResult {
  /** The witness's cosignature line(s), each ending in a newline. */
  readonly cosignatures: readonly string[];
  /** The old size of the request that succeeded (differs after a 409 retry). */
  readonly oldSize: number;
}

const withSlash = (u: string): string => (u.endsWith("/") ? u : `${u}/`);
const SIG_PREFIX = "\u2014 ";

/** Counts a note's signature lines without parsing it (to tell "too many" from malformed). */
function signatureCount(note: string): number {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) return 0;
  return note
    .slice(split + 2)
    .split("\n")
    .filter((l) => l.startsWith(SIG_PREFIX)).length;
}

/** The HTTP client of one peer ledger / witness. */
export class WitnessClient {
  readonly #base: string;
  readonly #witness: string;
  readonly #timeoutMs: number;
  readonly #max: number;
  readonly #fetch: typeof fetch;

  constructor(o: WitnessClientOptions) {
    this.#base = withSlash(new URL(o.url).href);
    this.#witness = withSlash(new URL(o.witnessUrl ?? `${this.#base}v1/witness/`).href);
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#max = o.maxBodyBytes ?? WITNESS_MAX_BODY_BYTES;
    this.#fetch = o.fetch ?? (o.caBundle === undefined ? fetch : caFetch(o.caBundle));
  }

  /** The peer's latest checkpoint (`GET /v1/checkpoint`), shape-checked, not verified. */
  async checkpoint(signal?: AbortSignal): Promise<FetchedCheckpoint> {
    const url = new URL("v1/checkpoint", this.#base).href;
    const { status, text } = await this.#request(url, { method: "GET" }, signal);
    this.#expectOk(url, status, text, "checkpoint");
    return readCheckpointNote(url, text);
  }

  /**
   * The checkpoint the peer's witness last cosigned for `origin`
   * (`GET <witness>/checkpoint?origin=`), or undefined when it has none (404).
   */
  async cosigned(origin: string, signal?: AbortSignal): Promise<FetchedCheckpoint | undefined> {
    const url = new URL(`checkpoint?origin=${encodeURIComponent(origin)}`, this.#witness).href;
    const { status, text } = await this.#request(url, { method: "GET" }, signal);
    if (status === 404) return undefined;
    this.#expectOk(url, status, text, "cosigned checkpoint");
    return readCheckpointNote(url, text);
  }

  /** A consistency proof from size `first` to `second` (`GET /v1/proof/consistency`). */
  async consistencyProof(first: number, second: number, signal?: AbortSignal): Promise<Hash[]> {
    const url = new URL(`v1/proof/consistency?first=${first}&second=${second}`, this.#base).href;
    const { status, text } = await this.#request(url, { method: "GET" }, signal);
    this.#expectOk(url, status, text, "consistency proof");
    return readProof(url, text, first, second);
  }

  /**
   * `POST add-checkpoint` once: the witness's cosignature lines. A refusal throws with its
   * reason ({@link WitnessClientReason.StaleOldSize} carries the witness's size).
   */
  async addCheckpoint(req: AddCheckpointRequest, signal?: AbortSignal): Promise<string[]> {
    const url = new URL("add-checkpoint", this.#witness).href;
    if (req.proof.length > WITNESS_MAX_PROOF_HASHES) {
      throw new WitnessClientError(
        WitnessClientReason.Oversized,
        `a consistency proof of ${req.proof.length} hashes is over the ${WITNESS_MAX_PROOF_HASHES} allowed`,
        { url },
      );
    }
    const init: PeerRequestInit = {
      method: "POST",
      headers: { "content-type": "text/plain; charset=utf-8" },
      body: formatAddCheckpointRequest(req),
    };
    const { status, text, contentType } = await this.#request(url, init, signal);
    if (status === 409 && contentType.split(";")[0]!.trim() === TLOG_SIZE_CONTENT_TYPE) {
      let size: number;
      try {
        size = parseTlogSize(text);
      } catch (err) {
        const reason =
          err instanceof CheckpointSizeError
            ? WitnessClientReason.SizeTooLarge
            : WitnessClientReason.Malformed;
        throw new WitnessClientError(reason, `409 answer: ${(err as Error).message}`, {
          url,
          status,
          cause: err,
        });
      }
      throw new WitnessClientError(
        WitnessClientReason.StaleOldSize,
        `witness last cosigned size ${size}, not ${req.oldSize}`,
        { url, status, size },
      );
    }
    this.#expectOk(url, status, text, "add-checkpoint");
    return readCosignatureLines(url, text);
  }

  /**
   * Pushes `note` (a checkpoint of `size`) from `oldSize`, the size the witness is believed to
   * have cosigned last; `proofFrom(old)` gives the consistency proof from `old` to `size`. On
   * a 409 `text/x.tlog.size` it retries once from the witness's size (a size larger than
   * `size` is not retried: the witness claims to have cosigned more of the log than exists).
   */
  async pushCheckpoint(
    note: string,
    size: number,
    oldSize: number,
    proofFrom: (old: number) => Promise<readonly Hash[]>,
    signal?: AbortSignal,
  ): Promise<PushResult> {
    const once = async (old: number): Promise<PushResult> => ({
      cosignatures: await this.addCheckpoint(
        { oldSize: old, proof: old === 0 || old === size ? [] : await proofFrom(old), note },
        signal,
      ),
      oldSize: old,
    });
    try {
      return await once(oldSize);
    } catch (err) {
      if (
        !(err instanceof WitnessClientError) ||
        err.reason !== WitnessClientReason.StaleOldSize ||
        err.size! > size
      ) {
        throw err;
      }
      return await once(err.size!);
    }
  }

  async #request(
    url: string,
    init: PeerRequestInit,
    signal: AbortSignal | undefined,
  ): Promise<PeerAnswer> {
    try {
      return await peerRequest(
        url,
        init,
        { timeoutMs: this.#timeoutMs, maxBodyBytes: this.#max, fetch: this.#fetch },
        signal,
      );
    } catch (err) {
      if (!isPeerHttpError(err) || err instanceof WitnessClientError) throw err;
      throw new WitnessClientError(err.reason, err.message, {
        url,
        ...(err.status === undefined ? {} : { status: err.status }),
        cause: err,
      });
    }
  }

  #expectOk(url: string, status: number, text: string, what: string): void {
    if (status === 200) return;
    const reason =
      status === 404
        ? WitnessClientReason.NotFound
        : status === 403
          ? WitnessClientReason.Forbidden
          : status === 400
            ? WitnessClientReason.BadRequest
            : status === 409 || status === 422
              ? WitnessClientReason.Conflict
              : WitnessClientReason.HttpError;
    throw new WitnessClientError(
      reason,
      `${what}: ${url} answered HTTP ${status}: ${text.trim().slice(0, 200)}`,
      { url, status },
    );
  }
}

/** Shape checks of a served checkpoint note: at most 16 signatures, a readable checkpoint. */
export function readCheckpointNote(url: string, note: string): FetchedCheckpoint {
  const count = signatureCount(note);
  if (count > MAX_NOTE_SIGNATURES) {
    throw new WitnessClientError(
      WitnessClientReason.Oversized,
      `checkpoint note of ${url} has ${count} signatures, more than the ${MAX_NOTE_SIGNATURES} accepted`,
      { url },
    );
  }
  try {
    const { body } = parseNote(note);
    return { note, checkpoint: parseCheckpoint(body) };
  } catch (err) {
    if (!(err instanceof CheckpointFormatError)) throw err;
    const reason =
      err instanceof CheckpointSizeError
        ? WitnessClientReason.SizeTooLarge
        : WitnessClientReason.Malformed;
    throw new WitnessClientError(reason, `checkpoint of ${url}: ${err.message}`, {
      url,
      cause: err,
    });
  }
}

function readProof(url: string, text: string, first: number, second: number): Hash[] {
  const malformed = (why: string): WitnessClientError =>
    new WitnessClientError(WitnessClientReason.Malformed, `consistency proof of ${url}: ${why}`, {
      url,
    });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed("not JSON");
  }
  const j = json as { first?: unknown; second?: unknown; hashes?: unknown };
  if (j.first !== first || j.second !== second) {
    throw malformed(`field first/second must echo ${first}/${second}`);
  }
  if (!Array.isArray(j.hashes)) throw malformed("field hashes must be an array");
  if (j.hashes.length > WITNESS_MAX_PROOF_HASHES) {
    throw new WitnessClientError(
      WitnessClientReason.Oversized,
      `consistency proof of ${url} has ${j.hashes.length} hashes, more than the ${WITNESS_MAX_PROOF_HASHES} allowed`,
      { url },
    );
  }
  return j.hashes.map((h, i) => {
    if (typeof h !== "string" || !/^[0-9a-f]{64}$/.test(h)) {
      throw malformed(`field hashes[${i}] must be 64 lower-case hex digits`);
    }
    return fromHex(h, 32);
  });
}

function readCosignatureLines(url: string, text: string): string[] {
  const lines = text.split("\n").filter((l) => l !== "");
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw new WitnessClientError(
      WitnessClientReason.Oversized,
      `add-checkpoint answer of ${url} has ${lines.length} lines, more than the ${MAX_NOTE_SIGNATURES} accepted`,
      { url },
    );
  }
  if (lines.length === 0 || lines.some((l) => !l.startsWith(SIG_PREFIX))) {
    throw new WitnessClientError(
      WitnessClientReason.Malformed,
      `add-checkpoint answer of ${url} is not cosignature lines`,
      { url },
    );
  }
  return lines.map((l) => `${l}\n`);
}
