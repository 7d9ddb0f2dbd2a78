/**
 * One HTTP request to a federation peer, the one home of the rules every request to a peer
 * follows (the witness client's GETs and add-checkpoint, the federation receipt proposal): a
 * deadline (the caller's signal joined with a timeout), redirects never followed (a 3xx is an
 * error), the answer read up to a byte cap and decoded as strict UTF-8. Failures are
 * {@link PeerHttpError}s with a {@link PeerHttpReason}; an HTTP status (4xx, 5xx) is not a
 * failure here, it is the caller's to judge.
 *
 * A peer whose TLS certificate chains to its own CA (FederationPeer
 * `spec.trustAnchor.caBundle`) is reached through {@link caFetch}: node:https with that CA as
 * the only roots, since the global fetch takes no per-request roots.
 */
import { X509Certificate } from "node:crypto";
import * as https from "node:https";
import { Readable } from "node:stream";
import { discardBody, readAtMost } from "../read-at-most.ts";

/** Why a request to a peer got no usable answer. */
export const PeerHttpReason = {
  /** No answer: connection refused or reset, name not resolved, TLS refused. */
  Unreachable: "Unreachable",
  /** The deadline passed (or the caller's signal aborted). */
  Timeout: "Timeout",
  /** The peer answered 3xx; redirects are never followed. */
  Redirected: "Redirected",
  /** An answer over the byte cap. */
  Oversized: "Oversized",
  /** An answer that is not UTF-8. */
  Malformed: "Malformed",
} as const;
export type PeerHttpReason = (typeof PeerHttpReason)[keyof typeof PeerHttpReason];

/**
 * A request to a peer that got no usable answer: the reason constant, the URL, the status.
 * Clients with more reasons of their own (the witness client) extend it with their reason type.
 */
export class PeerHttpError<R extends string = PeerHttpReason> extends Error {
  override readonly name: string = "PeerHttpError";
  readonly reason: R;
  readonly url: string;
  readonly status: number | undefined;

  constructor(reason: R, message: string, opts: { url: string; status?: number; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.reason = reason;
    this.url = opts.url;
    this.status = opts.status;
  }
}

/** Whether `err` is a {@link PeerHttpError} of {@link peerRequest}'s reasons (typed, unlike instanceof). */
export function isPeerHttpError(err: unknown): err is PeerHttpError {
  return err instanceof PeerHttpError;
}

/** How a request to a peer is bounded and sent. */
export interface PeerHttpOptions {
  /** Deadline of the request, milliseconds. */
  readonly timeoutMs: number;
  /** Cap on the answer's body, bytes. */
  readonly maxBodyBytes: number;
  /** The fetch implementation. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** The answer of {@link peerRequest}: any HTTP status but a redirect, the body as text. */
export interface PeerAnswer {
  readonly status: number;
  readonly text: string;
  readonly contentType: string;
}

/** What {@link peerRequest} sends. */
export interface PeerRequestInit {
  readonly method: "GET" | "POST";
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/**
 * Sends one request to a peer within `o.timeoutMs` (or until `signal` aborts), follows no
 * redirect and reads at most `o.maxBodyBytes` of the answer. Throws a {@link PeerHttpError}
 * when there is no usable answer; returns any other status with its body.
 */
export async function peerRequest(
  url: string,
  init: PeerRequestInit,
  o: PeerHttpOptions,
  signal?: AbortSignal,
): Promise<PeerAnswer> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await (o.fetch ?? fetch)(url, { ...init, redirect: "manual", signal: combined });
    if (res.type === "opaqueredirect" || (res.status >= 300 && res.status < 400)) {
      await discardBody(res);
      const to = res.headers.get("location") ?? "(no location)";
      throw new PeerHttpError(
        PeerHttpReason.Redirected,
        `${url} answered ${res.status} redirecting to ${to.slice(0, 200)}: redirects are not followed`,
        { url, status: res.status },
      );
    }
    const bytes = await readAtMost(
      res,
      o.maxBodyBytes,
      () =>
        new PeerHttpError(
          PeerHttpReason.Oversized,
          `answer of ${url} is over ${o.maxBodyBytes} bytes`,
          { url, status: res.status },
        ),
    );
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (err) {
      throw new PeerHttpError(PeerHttpReason.Malformed, `answer of ${url} is not UTF-8`, {
        url,
        status: res.status,
        cause: err,
      });
    }
    return { status: res.status, text, contentType: res.headers.get("content-type") ?? "" };
  } catch (err) {
    if (err instanceof PeerHttpError) throw err;
    if (combined.aborted) {
      const why = timeout.aborted ? `no answer within ${o.timeoutMs} ms` : "aborted";
      throw new PeerHttpError(PeerHttpReason.Timeout, `${url}: ${why}`, { url, cause: err });
    }
    throw new PeerHttpError(
      PeerHttpReason.Unreachable,
      `cannot reach ${url}: ${(err as Error).message}`,
      { url, cause: err },
    );
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * What is wrong with a CA bundle for {@link caFetch} (FederationPeer
 * `spec.trustAnchor.caBundle`): no PEM certificate in it, or certificates that do not parse
 * (each named by its position from 1). Empty when it is usable. Pure; the one home of that rule
 * for the admission webhook and the controller.
 */
export function caBundleProblems(bundle: string): string[] {
  const pems = bundle.match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) return ["no PEM certificate found"];
  const problems: string[] = [];
  pems.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (err) {
      problems.push(`certificate ${i + 1}: ${(err as Error).message}`);
    }
  });
  return problems;
}

/** Statuses whose Response must have no body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A fetch for https peers whose certificate chains to `caBundle` (PEM), which replaces the
 * system roots for those requests: node:https through an agent holding the CA (no keep-alive:
 * a client lives for one sync round, and idle sockets must not outlive it). Only
 * what {@link peerRequest} uses is supported — method, headers, a string body, the signal —
 * and it never follows redirects. An `http:` URL goes to the global fetch (no TLS to pin).
 */
export function caFetch(caBundle: string): typeof fetch {
  const agent = new https.Agent({ ca: caBundle });
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (url.protocol !== "https:") return await fetch(url, init);
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body = typeof init?.body === "string" ? init.body : undefined;
    if (init?.body != null && body === undefined) {
      throw new TypeError("caFetch sends string bodies only");
    }
    init?.signal?.throwIfAborted();
    return await new Promise<Response>((resolve, reject) => {
      const req = https.request(
        url,
        {
          method: init?.method ?? "GET",
          headers:
            body === undefined
              ? headers
              : { ...headers, "content-length": Buffer.byteLength(body) },
          agent,
          ...(init?.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
          }
          const status = res.statusCode ?? 0;
          if (NULL_BODY.has(status)) res.resume();
          resolve(
            new Response(
              NULL_BODY.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>),
              { status, statusText: res.statusMessage ?? "", headers: h },
            ),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  };
}
