// Writes the generated files of deploy/argocd (hack/argocd-lua/argocd-files.ts): each health
// check's testdata and health_test.yaml, built with the operator's own status functions so the
// Lua and the TypeScript cannot drift, and the argocd-cm and argo-helm values snippets built
// from the health.lua files. Stale testdata files (a case that no longer exists) are removed.
// With --check it writes nothing and exits 1 naming every stale file.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { argocdFiles, HEALTH_CHECKS } from "./argocd-lua/argocd-files.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const check = process.argv.includes("--check");

const want = await argocdFiles(root);
const stale: string[] = [];
for (const [rel, text] of want) {
  const file = path.join(root, rel);
  let have: string | undefined;
  try {
    have = readFileSync(file, "utf8");
  } catch {
    have = undefined;
  }
  if (have === text) continue;
  stale.push(rel);
  if (!check) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}
// testdata files no case produces any more.
for (const c of HEALTH_CHECKS) {
  let names: string[] = [];
  try {
    names = readdirSync(path.join(root, c.dir, "testdata"));
  } catch {
    continue;
  }
  for (const name of names) {
    const rel = `${c.dir}/testdata/${name}`;
    if (want.has(rel)) continue;
    stale.push(rel);
    if (!check) rmSync(path.join(root, rel));
  }
}
if (check && stale.length > 0) {
  process.stderr.write(
    `deploy/argocd is stale — run make generate:\n${stale.map((s) => `  ${s}\n`).join("")}`,
  );
  process.exit(1);
}
process.stdout.write(
  check ? "deploy/argocd is current\n" : `deploy/argocd: ${stale.length} file(s) written\n`,
);
