// Writes the generated files of the Helm chart (values.schema.json and values.yaml from the zod
// schema of the values, the webhook configurations template from the webhook table; see
// hack/chart/chart-files.ts). The chart's CRD templates are written by hack/generate-crds.ts.
// `npm run generate` / `make generate` runs it; with --check it writes nothing and exits 1 when a
// file is stale or hand-edited (`make verify`).
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { chartFiles } from "./chart/chart-files.ts";
import { differingFiles, runGenerator } from "./generated-files.ts";

/** Lists the generated chart files under `root` that differ from what their sources render. */
export async function staleChartFiles(root: string): Promise<string[]> {
  return await differingFiles(root, chartFiles());
}

/** Writes every generated chart file under `root`; returns their paths. */
export async function generateChart(root: string): Promise<string[]> {
  const files = chartFiles();
  for (const [file, text] of files) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  return [...files.keys()];
}

if (import.meta.main) {
  await runGenerator({
    stale: staleChartFiles,
    generate: generateChart,
    staleMessage: "chart files are stale or hand-edited",
    currentMessage: "generated chart files are up to date",
    wroteMessage: (written) => `wrote ${written.join(", ")}`,
  });
}
