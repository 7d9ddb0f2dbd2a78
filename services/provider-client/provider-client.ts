// A typed client of the provider protocol v1: idempotent submit, status, cancel and a health
// ping that measures RTT. Every call has a timeout; retryable failures (network, timeout, 429,
// 5xx) are retried with backoff — safe because every call is idempotent (submit through its
// key). The bearer token is held in a private field and never appears in errors or logs.
import type { z } from "zod";
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_PATTERN,
  PROTOCOL_PREFIX,
} from "./protocol-constants.ts";
import { readAtMost } from "../read-at-most.ts";
import type { Health, JobRequest, ProviderJob } from "./protocol.ts";

/** The protocol's zod schemas, loaded on the first answer (zod stays out of an operator
 * that never talks to an external provider; docs/adr/0025). */
type Schemas = typeof import("./protocol.ts");
let schemasLoading: Promise<Schemas> | undefined;
const schemas = (): Promise<Schemas> => (schemasLoading ??= import("./protocol.ts"));

/** Options of a ProviderClient. */
export interface ProviderClientOptions {
  /** Base URL of the provider (a Treaty's `spec.endpoint`), e.g. `https://api.akash.example`. */
  readonly endpoint: string;
  /** Bearer token (from the Treaty's credentials Secret); none when omitted. */
  readonly token?: string | undefined;
  /** Time limit of one HTTP request, in ms. @default 5000 */
  readonly timeoutMs?: number;
  /** Retries after a retryable failure (not for ping). @default 2 */
  readonly retries?: number;
  /** Delay before the first retry, doubled for each next one, in ms. @default 200 */
  readonly backoffMs?: number;
  /** Longest delay honoured from a Retry-After header, in ms. @default 5000 */
  readonly maxRetryAfterMs?: number;
  /**
   * Largest response body read, in bytes: a provider that answers more (an HTML error page
   * of a proxy, a runaway stream) fails the call with `response_too_large` instead of
   * filling the operator's memory. @default 1048576
   */
  readonly maxResponseBytes?: number;
  /** fetch implementation. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Waits between retries. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Monotonic milliseconds, for RTT. @default performance.now */
  readonly now?: () => number;
}

/** The details of a ProviderError. */
export interface ProviderErrorDetails {
  /**
   * Protocol error code, or `timeout`, `network`, `aborted`, `invalid_response`,
   * `response_too_large`.
   */
  readonly code: string;
  /** Whether the same call may succeed later. */
  readonly retryable: boolean;
  /** HTTP status when the provider answered. */
  readonly status?: number | undefined;
  /** The provider's Retry-After, in ms. */
  readonly retryAfterMs?: number | undefined;
}

/**
 * Why a provider call failed. The message names the call (`POST https://host/v1/jobs`), the
 * status and code and the provider's sentence — never the token, headers or request body.
 */
export class ProviderError extends Error {
  /** Protocol error code, or `timeout`, `network`, `aborted`, `invalid_response`. */
  readonly code: string;
  /** Whether the same call may succeed later. */
  readonly retryable: boolean;
  /** HTTP status when the provider answered. */
  readonly status: number | undefined;
  /** The provider's Retry-After, in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: ProviderErrorDetails) {
    super(message);
    this.name = "ProviderError";
    this.code = details.code;
    this.retryable = details.retryable;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The result of a submission: the job, and whether this call created it. */
export interface SubmitResult {
  readonly job: ProviderJob;
  /** False when the key had been used before (a replay): the existing job is returned. */
  readonly created: boolean;
}

/** The result of a ping. */
export interface PingResult {
  /** Round-trip time of `GET /v1/health`, in ms. */
  readonly rttMs: number;
  readonly health: Health;
}

interface Call<T> {
  readonly method: "GET" | "POST";
  readonly path: string;
  /** Picks the answer's schema (the schemas load lazily). */
  readonly schema: (s: Schemas) => z.ZodType<T>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal | undefined;
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** A client of one provider endpoint. */
export class ProviderClient {
  readonly #token: string | undefined;
  readonly #base: URL;
  /** `https://host:port` of the endpoint: what errors name (no userinfo, query or token). */
  readonly origin: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #maxResponseBytes: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;

  constructor(options: ProviderClientOptions) {
    const base = new URL(options.endpoint);
    if (base.protocol !== "https:" && base.protocol !== "http:") {
      throw new Error(`provider endpoint must be http(s), got ${base.protocol}`);
    }
    base.username = "";
    base.password = "";
    base.search = "";
    base.hash = "";
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    this.#base = base;
    this.origin = base.origin;
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#retries = options.retries ?? 2;
    this.#backoffMs = options.backoffMs ?? 200;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 5000;
    this.#maxResponseBytes = options.maxResponseBytes ?? 1_048_576;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Submits a job under an idempotency key (`idempotencyKeyFor(uid, attempt)`). Submitting the
   * same key again returns the existing job (`created: false`) — after a lost reply, a crash
   * or a retry — and never starts a second one; the same key with a different request fails
   * with `idempotency_key_reused`.
   */
  async submit(key: string, request: JobRequest, signal?: AbortSignal): Promise<SubmitResult> {
    if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new ProviderError(`idempotency key must match ${IDEMPOTENCY_KEY_PATTERN}`, {
        code: "invalid_request",
        retryable: false,
      });
    }
    const { value, status } = await this.#call({
      method: "POST",
      path: "jobs",
      schema: (p) => p.ProviderJobSchema,
      body: request,
      headers: { [IDEMPOTENCY_KEY_HEADER]: key },
      signal,
    });
    return { job: value, created: status === 201 };
  }

  /** The job with the provider's id `id` (`ProviderJob.id`). */
  async get(id: string, signal?: AbortSignal): Promise<ProviderJob> {
    const path = `jobs/${encodeURIComponent(id)}`;
    const schema = (p: Schemas): z.ZodType<ProviderJob> => p.ProviderJobSchema;
    return (await this.#call({ method: "GET", path, schema, signal })).value;
  }

  /** Cancels the job `id`; idempotent: a finished or cancelled job is returned as it is. */
  async cancel(id: string, signal?: AbortSignal): Promise<ProviderJob> {
    const path = `jobs/${encodeURIComponent(id)}/cancel`;
    const schema = (p: Schemas): z.ZodType<ProviderJob> => p.ProviderJobSchema;
    return (await this.#call({ method: "POST", path, schema, signal })).value;
  }

  /** Measures the round trip of `GET /v1/health` (one try: a retry would distort the RTT). */
  async ping(signal?: AbortSignal): Promise<PingResult> {
    const t0 = this.#now();
    const { value } = await this.#once({
      method: "GET",
      path: "health",
      schema: (p) => p.HealthSchema,
      signal,
    });
    return { rttMs: this.#now() - t0, health: value };
  }

  async #call<T>(call: Call<T>): Promise<{ value: T; status: number }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(call);
      } catch (err) {
        const e = err as ProviderError;
        if (!e.retryable || attempt >= this.#retries || call.signal?.aborted) throw err;
        const backoff = this.#backoffMs * 2 ** attempt;
        await this.#sleep(Math.min(Math.max(backoff, e.retryAfterMs ?? 0), this.#maxRetryAfterMs));
      }
    }
  }

  async #once<T>(call: Call<T>): Promise<{ value: T; status: number }> {
    const url = new URL(`${PROTOCOL_PREFIX.slice(1)}/${call.path}`, this.#base);
    const what = `${call.method} ${this.origin}${url.pathname}`;
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = call.signal === undefined ? timeout : AbortSignal.any([timeout, call.signal]);
    const headers: Record<string, string> = { accept: "application/json", ...call.headers };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (call.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(url, {
        method: call.method,
        headers,
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        signal,
      });
      text = await readLimited(what, res, this.#maxResponseBytes);
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      throw transportError(what, err, timeout.aborted, this.#timeoutMs);
    }
    const json = parseJson(text);
    const p = await schemas();
    if (!res.ok) throw httpError(what, res, p.ErrorBodySchema.safeParse(json));
    if (json === undefined) {
      // A proxy's or a login page's HTML, a truncated body: say so rather than "at (root)".
      const type = res.headers.get("content-type") ?? "none";
      throw new ProviderError(
        `${what}: invalid response: not JSON (HTTP ${res.status}, content-type ${type}, ${Buffer.byteLength(text)} bytes)`,
        { code: "invalid_response", retryable: false, status: res.status },
      );
    }
    const parsed = call.schema(p).safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined ? "" : ` at ${issue.path.join(".") || "(root)"}`;
      const message = `${what}: invalid response${where}: ${issue?.message ?? "unparsable"}`;
      throw new ProviderError(message, {
        code: "invalid_response",
        retryable: false,
        status: res.status,
      });
    }
    return { value: parsed.data, status: res.status };
  }
}

// The body as text, refusing one larger than `max` bytes (declared or streamed).
async function readLimited(what: string, res: Response, max: number): Promise<string> {
  const tooLarge = (): ProviderError =>
    new ProviderError(`${what}: response body over ${max} bytes (HTTP ${res.status})`, {
      code: "response_too_large",
      retryable: false,
      status: res.status,
    });
  return Buffer.from(await readAtMost(res, max, tooLarge)).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A ProviderError from an error response; the message is the provider's sentence. */
function httpError(
  what: string,
  res: Response,
  body: z.ZodSafeParseResult<{ error: string; code: string; retryable: boolean }>,
): ProviderError {
  const status = res.status;
  const guessed = status === 429 || status >= 500;
  const code = body.success ? body.data.code : status >= 500 ? "internal" : `http_${status}`;
  const retryable = body.success ? body.data.retryable : guessed;
  const sentence = body.success ? body.data.error : res.statusText || "no error body";
  const retryAfter = Number(res.headers.get("retry-after") ?? "");
  return new ProviderError(`${what}: ${status} ${code}: ${sentence}`, {
    code,
    retryable,
    status,
    retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
  });
}

/** A ProviderError from a failed fetch: timeout, abort or network (the cause's code only). */
function transportError(
  what: string,
  err: unknown,
  timedOut: boolean,
  timeoutMs: number,
): ProviderError {
  if (timedOut) {
    return new ProviderError(`${what}: no answer within ${timeoutMs} ms`, {
      code: "timeout",
      retryable: true,
    });
  }
  const e = err as { name?: string; cause?: { code?: string } };
  if (e.name === "AbortError") {
    return new ProviderError(`${what}: aborted`, { code: "aborted", retryable: false });
  }
  const cause = e.cause?.code ?? e.name ?? "error";
  return new ProviderError(`${what}: network error (${cause})`, {
    code: "network",
    retryable: true,
  });
}
