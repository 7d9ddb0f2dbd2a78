/**
 * A small client of Prometheus's HTTP API (`/api/v1/query`, `/api/v1/query_range`): instant
 * vectors and range matrices as numbers, with errors that name the server and the query.
 */

/** One series of an instant vector. */
export interface VectorSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One series of a range matrix: [unix seconds, value] pairs. */
export interface MatrixSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly (readonly [number, number])[];
}

/** Prometheus could not be reached or refused a query. */
export class PrometheusError extends Error {
  override readonly name = "PrometheusError";
}

/** What the report needs of Prometheus (a fake in unit tests, the HTTP API otherwise). */
export interface PrometheusQuerier {
  readonly url: string;
  query(expr: string, at: Date): Promise<VectorSample[]>;
  queryRange(expr: string, start: Date, end: Date, stepSeconds: number): Promise<MatrixSeries[]>;
}

interface ApiAnswer {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown[] };
}

const seconds = (d: Date): string => (d.getTime() / 1000).toFixed(3);

function describeFetchError(url: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return `cannot reach Prometheus at ${url} (${why})`;
}

/**
 * `url` without its userinfo (`user:password@`), so credentials never reach the report, its
 * signature or an error message. Pure; a string that is not a URL is returned unchanged.
 */
export function withoutUserinfo(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (u.username === "" && u.password === "") return url;
  u.username = "";
  u.password = "";
  const s = u.toString();
  // URL adds a "/" to a bare origin; keep the caller's spelling otherwise.
  return !url.endsWith("/") && s.endsWith("/") && u.pathname === "/" ? s.slice(0, -1) : s;
}

/**
 * The HTTP API of the Prometheus at `url`; each request times out after `timeoutMs`. Userinfo in
 * `url` is sent as HTTP basic authentication and left out of `url` as this client reports it.
 */
export function prometheusApi(rawUrl: string, timeoutMs = 30_000): PrometheusQuerier {
  const url = withoutUserinfo(rawUrl);
  let base: URL;
  try {
    base = new URL(rawUrl.endsWith("/") ? rawUrl : `${rawUrl}/`);
  } catch {
    throw new PrometheusError(`--prometheus: ${JSON.stringify(url)} is not a URL`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new PrometheusError(`--prometheus: ${url} is not an http(s) URL`);
  }
  const auth =
    base.username || base.password
      ? {
          authorization: `Basic ${Buffer.from(
            `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`,
          ).toString("base64")}`,
        }
      : {};
  base.username = "";
  base.password = "";
  const call = async (path: string, params: Record<string, string>): Promise<unknown[]> => {
    const target = new URL(path, base);
    let res: Response;
    try {
      res = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...auth },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new PrometheusError(describeFetchError(url, err));
    }
    const text = await res.text();
    let answer: ApiAnswer;
    try {
      answer = JSON.parse(text) as ApiAnswer;
    } catch {
      throw new PrometheusError(
        `${target.origin}${target.pathname}: HTTP ${res.status}, not a Prometheus API answer`,
      );
    }
    if (answer.status !== "success" || !Array.isArray(answer.data?.result)) {
      throw new PrometheusError(
        `Prometheus refused ${JSON.stringify(params.query)}: ${answer.error ?? `HTTP ${res.status}`}`,
      );
    }
    return answer.data.result;
  };
  return {
    url,
    async query(expr, at) {
      const result = await call("api/v1/query", { query: expr, time: seconds(at) });
      return result.map((r) => {
        const s = r as { metric: Record<string, string>; value: [number, string] };
        return { metric: s.metric, value: Number(s.value[1]) };
      });
    },
    async queryRange(expr, start, end, stepSeconds) {
      const result = await call("api/v1/query_range", {
        query: expr,
        start: seconds(start),
        end: seconds(end),
        step: String(stepSeconds),
      });
      return result.map((r) => {
        const s = r as { metric: Record<string, string>; values: [number, string][] };
        return { metric: s.metric, values: s.values.map(([t, v]) => [t, Number(v)] as const) };
      });
    },
  };
}
