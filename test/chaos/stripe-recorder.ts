/**
 * A recording reverse proxy in front of stripe-mock. stripe-mock is stateless and keeps no
 * record of what it was sent, so the chaos suite reads "what Stripe received" here: every
 * request stripe-mock answered (method, path, Idempotency-Key, form body, status), appended to
 * a JSON-lines file. When stripe-mock is down the client's connection is dropped, as a
 * connection to a dead Stripe would be.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";

/** One request stripe-mock answered. */
export interface StripeRecord {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | undefined;
  readonly body: Record<string, string>;
  readonly status: number;
}

/** A listening recorder. */
export interface StripeRecorder {
  /** `http://127.0.0.1:<port>`: the operator's Stripe API base. */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the recorder forwarding to `upstreamPort`, appending records to `file`. */
export async function startStripeRecorder(
  upstreamPort: number,
  file: string,
): Promise<StripeRecorder> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const up = request(
        {
          host: "127.0.0.1",
          port: upstreamPort,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: false,
        },
        (ures) => {
          const out: Buffer[] = [];
          ures.on("data", (c: Buffer) => out.push(c));
          ures.on("end", () => {
            const key = req.headers["idempotency-key"];
            const rec: StripeRecord = {
              method: req.method ?? "GET",
              path: (req.url ?? "/").split("?")[0] ?? "/",
              idempotencyKey: typeof key === "string" ? key : undefined,
              body: Object.fromEntries(new URLSearchParams(raw.toString("utf8"))),
              status: ures.statusCode ?? 0,
            };
            appendFileSync(file, `${JSON.stringify(rec)}\n`);
            res.writeHead(ures.statusCode ?? 502, ures.headers);
            res.end(Buffer.concat(out));
          });
          ures.on("error", () => res.destroy());
        },
      );
      up.on("error", () => res.destroy());
      up.end(raw);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Reads the records of a recorder file. */
export function readStripeRecords(file: string): StripeRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as StripeRecord);
}
