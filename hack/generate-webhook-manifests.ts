// Writes config/webhook/webhook-configurations.yaml from the webhook table (webhooks/endpoints.ts).
// With --check, exits 1 when the committed file differs instead of writing it.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WEBHOOK_MANIFEST_PATH, webhookManifestText } from "../webhooks/manifest-file.ts";

const path = fileURLToPath(new URL(`../${WEBHOOK_MANIFEST_PATH}`, import.meta.url));
const want = webhookManifestText();
if (process.argv.includes("--check")) {
  let have = "";
  try {
    have = readFileSync(path, "utf8");
  } catch {
    // missing counts as stale
  }
  if (have !== want) {
    process.stderr.write(
      `${WEBHOOK_MANIFEST_PATH} is stale: run node hack/generate-webhook-manifests.ts\n`,
    );
    process.exit(1);
  }
} else {
  writeFileSync(path, want);
  process.stdout.write(`wrote ${WEBHOOK_MANIFEST_PATH}\n`);
}
