// The user docs' commands, run as a reader would run them (ADR 0070): the getting-started
// walk-through from `make dev` to a Receipt verified offline with remembrancer, openssl and gpg;
// every manifest of the concept pages through a server-side dry run against the same cluster —
// its CRDs, CEL rules and admission webhooks, with the sample tenant Ready; the install guide's
// Secrets, values files, `helm lint`/`helm template` and dry runs of the chart and of
// config/default. Each block must succeed and print what the page says it prints.
//
// The walk-through's `make dev` starts its own control plane and services in a throwaway
// clone (test/harness/doc-session.ts), not the suite's shared cluster: it registers cluster-wide
// webhooks and an unscoped operator that would meet every other test's objects.
import { afterAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import { extractDocBlocks, matchOutput, type DocBlock } from "../../hack/doc-blocks.ts";
import { createClone, DocSession, readerEnv, type BlockResult } from "../harness/doc-session.ts";

const CONCEPT_PAGES = ["treaty", "tenant", "gpuworkload", "receipt", "federationpeer"].map(
  (k) => `docs/concepts/${k}.md`,
);

function blocksOf(page: string): DocBlock[] {
  return extractDocBlocks(readFileSync(join(repoRoot, page), "utf8"), page);
}

const gettingStarted = blocksOf("docs/getting-started.md");
/** Everything the test runs, in order; clean-up blocks last. */
const steps: DocBlock[] = [
  ...gettingStarted.filter((b) => b.action && b.action.kind !== "cleanup"),
  ...CONCEPT_PAGES.flatMap(blocksOf).filter((b) => b.action?.kind === "apply"),
  ...blocksOf("docs/install.md"),
].filter((b) => b.action !== undefined && b.action.kind !== "skip");
const cleanups = gettingStarted.filter((b) => b.action?.kind === "cleanup");

/** Seconds a block may take: `make dev` starts a control plane and every service. */
const timeoutMs = (b: DocBlock): number => (/\bmake dev\b/.test(b.body) ? 300_000 : 120_000);

const tail = (s: string): string => (s.length > 4000 ? `…${s.slice(-4000)}` : s);
const where = (b: DocBlock): string => `${b.file}:${b.line}`;

let session: DocSession | undefined;
let last: BlockResult | undefined;
let broken: string | undefined;
let cleanedUp = false;

function open(): DocSession {
  if (session) return session;
  // Helm is a prerequisite of the install guide; the repository builds the pinned one.
  const helm = execFileSync("bash", [join(repoRoot, "hack/helm/build.sh")], {
    encoding: "utf8",
  }).trim();
  session = new DocSession(createClone(repoRoot), readerEnv(process.env, [dirname(helm)]));
  return session;
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

async function step(b: DocBlock): Promise<void> {
  const s = open();
  const action = b.action!;
  switch (action.kind) {
    case "file":
      s.writeFile(b, action.path);
      return;
    case "run":
      last = await runBlock(s, b, b.body);
      return;
    case "output": {
      const missing = matchOutput(b.body, last?.output ?? "");
      if (missing !== undefined) {
        throw new Error(
          `${where(b)}: the page shows a line the command did not print:\n  ${missing}\n--- what it printed ---\n${tail(last?.output ?? "")}`,
        );
      }
      return;
    }
    case "apply": {
      // The manifest as a reader would save it, applied as a server-side dry run: schema, CEL,
      // mutating and validating webhooks run; nothing is stored. An example may share a
      // sample's name (the seed's Akash treaty): forcing conflicts makes that an update.
      const file = join(s.dir, ".docs-session", "manifest.yaml");
      writeFileSync(file, b.body);
      const r = await runBlock(
        s,
        b,
        `kubectl apply --server-side --force-conflicts --dry-run=server -f ${file}`,
      );
      expect({ block: where(b), output: r.output }).toEqual({
        block: where(b),
        output: expect.stringContaining("serverside-applied (server dry run)"),
      });
      // An example that makes the apiserver or a webhook warn is not an example to copy.
      expect({ block: where(b), warnings: r.output.match(/^Warning: .*$/gm) ?? [] }).toEqual({
        block: where(b),
        warnings: [],
      });
      return;
    }
    default:
      throw new Error(`${where(b)}: ${action.kind} blocks are not steps`);
  }
}

describe("the user docs, run as written", () => {
  it.each(steps.map((b) => [`${where(b)} ${b.action!.kind}`, b] as const))(
    "%s",
    async (_name, b) => {
      if (broken) throw new Error(`not run: ${broken} failed before it`);
      try {
        await step(b);
      } catch (err) {
        broken = where(b);
        throw err;
      }
    },
    330_000,
  );

  it.each(cleanups.map((b) => [`${where(b)} cleanup`, b] as const))(
    "%s",
    async (_name, b) => {
      await runBlock(open(), b, b.body);
      cleanedUp = true;
    },
    180_000,
  );

  afterAll(async () => {
    if (!session) return;
    // The page's clean-up did not run or failed: stop what make dev started all the same.
    if (!cleanedUp) await session.run("make dev-down", 120_000);
    session.remove();
  }, 150_000);
});
