#!/usr/bin/env node
// Launcher for the `vaultmesh` CLI. The sources are TypeScript run by Node 24's type
// stripping; `npx vaultmesh` may start under an older system Node, so re-exec with the
// project's pinned Node 24 (node_modules/.bin/node) when needed.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const major = Number(process.versions.node.split(".")[0]);

if (major >= 24) {
  const { main } = await import("../services/slo/slo-cli.ts");
  await main();
} else {
  const node24 = join(root, "node_modules", ".bin", "node");
  if (!existsSync(node24)) {
    process.stderr.write(
      `vaultmesh: needs Node 24 (found ${process.versions.node}); run npm install\n`,
    );
    process.exit(2);
  }
  const r = spawnSync(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 2);
}
