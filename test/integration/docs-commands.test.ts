// The user docs' commands, run as a reader would run them (ADR 0070): the getting-started
// walk-through from `make dev` to a Receipt verified offline with remembrancer, openssl and gpg;
// every manifest of the concept pages through a server-side dry run against the same cluster —
// its CRDs, CEL rules and admission webhooks, with the sample tenant Ready; the install guide's
// Secrets, values files, `helm lint`/`helm template` and dry runs of the chart and of
// config/default. Each block must succeed and print what the page says it prints.
//
// The walk-through's `make dev` starts its own control plane and services in a throwaway
// clone (test/harness/doc-session.ts), not the suite's shared cluster: it registers cluster-wide
// webhooks and an unscoped operator that would meet every other test's objects. The install
// guide then runs, in a session of its own, against a fresh empty control plane, as a platform
// engineer's first install would (make dev's URL-based webhook configurations are not a
// cluster the chart is ever installed into).
import { afterAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { repoRoot, startCluster, type Cluster } from "../../hack/cluster/cluster.ts";
import { extractDocBlocks, matchOutput, type DocBlock } from "../../hack/doc-blocks.ts";
import { createClone, DocSession, readerEnv, type BlockResult } from "../harness/doc-session.ts";

const CONCEPT_PAGES = ["treaty", "tenant", "gpuworkload", "receipt", "federationpeer"].map(
  (k) => `docs/concepts/${k}.md`,
);

function blocksOf(page: string): DocBlock[] {
  return extractDocBlocks(readFileSync(join(repoRoot, page), "utf8"), page);
}

const runnable = (b: DocBlock): boolean => b.action !== undefined && b.action.kind !== "skip";
const gettingStarted = blocksOf("docs/getting-started.md");
/** The walk-through, then the concept pages' manifests against its cluster; clean-up last. */
const walkThrough: DocBlock[] = [
  ...gettingStarted.filter((b) => b.action?.kind !== "cleanup"),
  ...CONCEPT_PAGES.flatMap(blocksOf).filter((b) => b.action?.kind === "apply"),
].filter(runnable);
const cleanups = gettingStarted.filter((b) => b.action?.kind === "cleanup");
/** The install guide, then the GitOps guide's commands (they need the repository, no cluster). */
const installGuide = [...blocksOf("docs/install.md"), ...blocksOf("docs/gitops.md")].filter(
  runnable,
);

/** Seconds a block may take: `make dev` starts a control plane and every service. */
const timeoutMs = (b: DocBlock): number => (/\bmake dev\b/.test(b.body) ? 300_000 : 120_000);

const tail = (s: string): string => (s.length > 4000 ? `…${s.slice(-4000)}` : s);
const where = (b: DocBlock): string => `${b.file}:${b.line}`;

/** The pinned Helm's directory: Helm is a prerequisite of the install guide. */
function helmDir(): string {
  const helm = execFileSync("bash", [join(repoRoot, "hack/helm/build.sh")], { encoding: "utf8" });
  return dirname(helm.trim());
}

let clone: string | undefined;
/** The throwaway clone both sessions work in (their files have different names). */
function cloneDir(): string {
  return (clone ??= createClone(repoRoot));
}

async function runBlock(s: DocSession, b: DocBlock, script: string): Promise<BlockResult> {
  const r = await s.run(script, timeoutMs(b));
  if (r.code !== 0) {
    const why = r.timedOut ? `timed out after ${timeoutMs(b) / 1000} s` : `exit code ${r.code}`;
    throw new Error(
      `${where(b)}: the block failed (${why}):\n${script}\n--- output ---\n${tail(r.output)}`,
    );
  }
  return r;
}

/** One page's blocks run in order in one session; the first failure stops the rest. */
class PageRun {
  last: BlockResult | undefined;
  broken: string | undefined;
  readonly session: () => DocSession;
  constructor(session: () => DocSession) {
    this.session = session;
  }

  async step(b: DocBlock): Promise<void> {
    if (this.broken) throw new Error(`not run: ${this.broken} failed before it`);
    try {
      await this.#step(this.session(), b);
    } catch (err) {
      this.broken = where(b);
      throw err;
    }
  }

  async #step(s: DocSession, b: DocBlock): Promise<void> {
    const action = b.action!;
    switch (action.kind) {
      case "file":
        s.writeFile(b, action.path);
        return;
      case "run":
        this.last = await runBlock(s, b, b.body);
        return;
      case "output": {
        const missing = matchOutput(b.body, this.last?.output ?? "");
        if (missing !== undefined) {
          throw new Error(
            `${where(b)}: the page shows a line the command did not print:\n  ${missing}\n--- what it printed ---\n${tail(this.last?.output ?? "")}`,
          );
        }
        return;
      }
      case "apply":
        return await applyDryRun(s, b);
      default:
        throw new Error(`${where(b)}: ${action.kind} blocks are not steps`);
    }
  }
}

/**
 * A manifest as a reader would save it, applied as a server-side dry run: schema, CEL, the
 * mutating and validating webhooks run; nothing is stored. An example may share a sample's
 * name (the seed's Akash treaty): forcing conflicts makes that an update.
 */
async function applyDryRun(s: DocSession, b: DocBlock): Promise<void> {
  const file = join(s.stateDir, "manifest.yaml");
  writeFileSync(file, b.body);
  const cmd = `kubectl apply --server-side --force-conflicts --dry-run=server -f ${file}`;
  const r = await runBlock(s, b, cmd);
  expect({ block: where(b), output: r.output }).toEqual({
    block: where(b),
    output: expect.stringContaining("serverside-applied (server dry run)"),
  });
  // An example that makes the apiserver or a webhook warn is not an example to copy.
  expect({ block: where(b), warnings: r.output.match(/^Warning: .*$/gm) ?? [] }).toEqual({
    block: where(b),
    warnings: [],
  });
}

const named = (blocks: readonly DocBlock[]): (readonly [string, DocBlock])[] =>
  blocks.map((b) => [`${where(b)} ${b.action!.kind}`, b] as const);

describe("getting started, then every concept page's manifests, against make dev", () => {
  let session: DocSession | undefined;
  let cleanedUp = false;
  const open = (): DocSession =>
    (session ??= new DocSession(cloneDir(), readerEnv(process.env, [helmDir()]), "walk-through"));
  const page = new PageRun(open);

  it.each(named(walkThrough))("%s", async (_name, b) => await page.step(b), 330_000);

  it.each(named(cleanups))(
    "%s",
    async (_name, b) => {
      await runBlock(open(), b, b.body);
      cleanedUp = true;
    },
    180_000,
  );

  afterAll(async () => {
    // The page's clean-up did not run or failed: stop what make dev started all the same.
    if (session && !cleanedUp) await session.run("make dev-down", 120_000);
  }, 150_000);
});

describe("the install and GitOps guides, against a fresh control plane", () => {
  let cluster: Cluster | undefined;
  let session: DocSession | undefined;
  const page = new PageRun(() => session!);

  it.each(named(installGuide))(
    "%s",
    async (_name, b) => {
      if (!cluster) {
        cluster = await startCluster({
          dir: mkdtempSync(join(tmpdir(), "vaultmesh-docs-install-")),
          name: "docs-install",
          nodePools: false,
        });
        // A reader's cluster and their kubectl (any 1.30+; this one is the control plane's).
        const env = readerEnv(process.env, [helmDir(), cluster.binDir]);
        env.KUBECONFIG = cluster.kubeconfig;
        session = new DocSession(cloneDir(), env, "install");
      }
      await page.step(b);
    },
    330_000,
  );

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);
});

afterAll(() => {
  if (clone) rmSync(clone, { recursive: true, force: true });
});
