// What every generator in hack/ shares: which generated files differ from what their sources
// render, and the command-line entry point (`--check` for `make verify`, else write).
import { readFile } from "node:fs/promises";
import path from "node:path";

/** The files of `want` (path under `root` → text) whose content under `root` differs or is missing. */
export async function differingFiles(
  root: string,
  want: ReadonlyMap<string, string>,
): Promise<string[]> {
  const differing: string[] = [];
  for (const [file, text] of want) {
    const current = await readFile(path.join(root, file), "utf8").catch(() => undefined);
    if (current !== text) differing.push(file);
  }
  return differing;
}

/**
 * Runs a generator from the command line at the repository root: with `--check` it writes nothing
 * and exits 1 naming the stale files (`make verify`); otherwise it writes them.
 */
export async function runGenerator<W>(g: {
  readonly stale: (root: string) => Promise<string[]>;
  readonly generate: (root: string) => Promise<W>;
  /** What is stale, before the list of files (e.g. "chart files are stale or hand-edited"). */
  readonly staleMessage: string;
  readonly currentMessage: string;
  readonly wroteMessage: (written: W) => string;
}): Promise<void> {
  const root = path.resolve(import.meta.dirname, "..");
  if (process.argv.includes("--check")) {
    const files = await g.stale(root);
    if (files.length > 0) {
      console.error(`${g.staleMessage}; run make generate:\n  ${files.join("\n  ")}`);
      process.exit(1);
    }
    console.log(g.currentMessage);
  } else {
    console.log(g.wroteMessage(await g.generate(root)));
  }
}
