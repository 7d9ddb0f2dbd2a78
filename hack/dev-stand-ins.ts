// `node hack/dev-stand-ins.ts --out F --token-file T`: the stand-ins `make dev` runs for
// the parts of the world a laptop does not have, in one process on loopback ports:
// - the Discord stand-in (test/harness/discord-stand-in.ts): Discord's REST API for the
//   Tenant controller's bot, logging every request it receives;
// - the provider simulator (services/provider-sim) as provider `akash`, the endpoint of the
//   sample treaty AURORA-AKASH-001, accepting the bearer token in T.
// When both listen it writes DISCORD_API and PROVIDER_SIM_URL to F (shell assignments) and
// runs until SIGTERM/SIGINT. Logs (one JSON line per request) go to stdout.
// `--only discord|provider-sim` runs one of them (the chaos suite kills each on its own), and
// `--discord-port` / `--provider-port` fix their ports (a restart keeps its address).
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { systemClock } from "../services/ledger/clock.ts";
import { Registry } from "prom-client";
import { startProviderSim } from "../services/provider-sim/index.ts";
import { startDiscordStandIn } from "../test/harness/discord-stand-in.ts";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    "token-file": { type: "string" },
    only: { type: "string" },
    "discord-port": { type: "string", default: "0" },
    "provider-port": { type: "string", default: "0" },
  },
});
const envFile = values.out;
const tokenFile = values["token-file"];
if (!envFile || !tokenFile) {
  console.error("usage: node hack/dev-stand-ins.ts --out FILE --token-file FILE");
  process.exit(2);
}
const only = values.only;
if (only !== undefined && only !== "discord" && only !== "provider-sim") {
  console.error(`dev-stand-ins: --only ${only}: expected discord or provider-sim`);
  process.exit(2);
}
const portOf = (flag: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`dev-stand-ins: --${flag} ${v}: expected a port 0-65535`);
    process.exit(2);
  }
  return n;
};
const discordPort = portOf("discord-port", values["discord-port"]);
const providerPort = portOf("provider-port", values["provider-port"]);
const token = readFileSync(tokenFile, "utf8").trim();
if (token === "") {
  console.error(`dev-stand-ins: --token-file ${tokenFile} is empty; expected a bearer token`);
  process.exit(2);
}

// Synchronous writes: a request is in the log before the stand-in answers it.
const log = pino(pino.destination({ dest: 1, sync: true }));
// The Discord stand-in's requests are logged as they arrive, before they are answered (a kill
// right after an answer must not lose the record: the chaos suite reads this log), and dropped
// from its memory, so it does not grow for as long as dev runs.
const discord =
  only === "provider-sim"
    ? undefined
    : await startDiscordStandIn({
        port: discordPort,
        onRequest: (r) => {
          log.info(
            { component: "discord", method: r.method, path: r.path, body: r.body },
            "request",
          );
          discord?.requests.splice(0);
        },
      });
const sim =
  only === "discord"
    ? undefined
    : await startProviderSim(
        {
          clock: systemClock,
          provider: "akash",
          tokens: [token],
          logger: log.child({ component: "provider-sim" }),
          metrics: new Registry(), // GET /metrics: the simulator's RED metrics
        },
        { port: providerPort },
      );
// Written whole, then renamed: a reader never sees half the file.
writeFileSync(
  `${envFile}.tmp`,
  (discord ? `DISCORD_API=${discord.api}\n` : "") + (sim ? `PROVIDER_SIM_URL=${sim.url}\n` : ""),
);
renameSync(`${envFile}.tmp`, envFile);
log.info({ component: "dev-stand-ins", discord: discord?.api, providerSim: sim?.url }, "listening");

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "stopping");
  void Promise.all([discord?.stop(), sim?.close()]).then(() => process.exit(0));
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
