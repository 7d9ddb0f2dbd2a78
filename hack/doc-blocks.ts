// The runnable blocks of the user docs (docs/adr/0070-doc-commands-are-tested.md). A fenced
// block is runnable when the line before it is a marker comment:
//
//   <!-- test: run -->            ```sh        run in the page's shell session, must exit 0
//   <!-- test: output -->         ```text      expected output of the previous run block
//   <!-- test: file NAME -->      ```yaml      written to NAME (relative to the session's cwd)
//   <!-- test: apply -->          ```yaml      `kubectl apply --dry-run=server`: schema, CEL, webhooks
//   <!-- test: cleanup -->        ```sh        run after every other block of the test, even failed ones
//   <!-- test: skip WHY -->       any          not run; WHY says why (a cloud command, a fragment)
//
// Output is matched line by line (see matchOutput). Everything here is pure: the integration
// test test/integration/docs-commands.test.ts runs the blocks.

/** What the test does with a block. */
export type DocBlockAction =
  | { readonly kind: "run" }
  | { readonly kind: "output" }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "apply" }
  | { readonly kind: "cleanup" }
  | { readonly kind: "skip"; readonly why: string };

/** A fenced code block of a Markdown page, with the marker before it (if any). */
export interface DocBlock {
  /** The page, as given to extractDocBlocks. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** Info string of the fence: `sh`, `yaml`, `text`, or empty. */
  readonly lang: string;
  /** The block's text, with a final newline. */
  readonly body: string;
  /** Undefined when no marker precedes the block. */
  readonly action: DocBlockAction | undefined;
}

/** Languages whose blocks must carry a marker: commands and manifests are never untested. */
const MARKED_LANGUAGES: readonly string[] = ["sh", "bash", "shell", "console", "yaml", "yml"];

const MARKER = /^<!--\s*test:\s*(\S+)(?:\s+(.*?))?\s*-->\s*$/;
const FENCE = /^(```+|~~~+)\s*([\w-]*)/;

/** Parses the argument part of a marker into an action; throws naming `where` when invalid. */
export function parseMarker(kind: string, arg: string | undefined, where: string): DocBlockAction {
  const a = arg?.trim() ?? "";
  switch (kind) {
    case "run":
    case "output":
    case "apply":
    case "cleanup":
      if (a !== "")
        throw new Error(`${where}: marker "test: ${kind}" takes no argument, got "${a}"`);
      return { kind };
    case "file":
      if (!/^[\w./-]+$/.test(a) || a.startsWith("/") || a.split("/").includes("..")) {
        throw new Error(
          `${where}: marker "test: file" needs a relative file name (letters, digits, . _ - /), got "${a}"`,
        );
      }
      return { kind, path: a };
    case "skip":
      if (a === "") throw new Error(`${where}: marker "test: skip" needs a reason`);
      return { kind, why: a };
    default:
      throw new Error(
        `${where}: unknown marker "test: ${kind}"; expected run, output, file NAME, apply, cleanup or skip WHY`,
      );
  }
}

/**
 * Every fenced block of `markdown`, in order, with its marker. A marker must be followed
 * directly by a fence (blank lines allowed); a marker before anything else, or an unclosed
 * fence, is an error naming the file and line.
 */
export function extractDocBlocks(markdown: string, file: string): DocBlock[] {
  const lines = markdown.split("\n");
  const blocks: DocBlock[] = [];
  let pending: { action: DocBlockAction; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const marker = MARKER.exec(text.trim());
    if (marker) {
      const where = `${file}:${i + 1}`;
      if (pending) throw new Error(`${file}:${pending.line}: marker not followed by a code block`);
      pending = { action: parseMarker(marker[1]!, marker[2], where), line: i + 1 };
      continue;
    }
    const fence = FENCE.exec(text);
    if (!fence) {
      if (pending && text.trim() !== "") {
        throw new Error(`${file}:${pending.line}: marker not followed by a code block`);
      }
      continue;
    }
    const close = fence[1]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.startsWith(close)) body.push(lines[j++]!);
    if (j >= lines.length) throw new Error(`${file}:${i + 1}: code block is never closed`);
    blocks.push({
      file,
      line: i + 1,
      lang: fence[2] ?? "",
      body: body.length === 0 ? "" : `${body.join("\n")}\n`,
      action: pending?.action,
    });
    pending = undefined;
    i = j;
  }
  if (pending) throw new Error(`${file}:${pending.line}: marker not followed by a code block`);
  return blocks;
}

/** Blocks in a language of {@link MARKED_LANGUAGES} that carry no marker. */
export function unmarkedBlocks(blocks: readonly DocBlock[]): DocBlock[] {
  return blocks.filter((b) => b.action === undefined && MARKED_LANGUAGES.includes(b.lang));
}

/**
 * Problems with the order of blocks: an `output` block must follow a `run` block (another
 * output block of the same run may sit between). Returns one message per problem.
 */
export function orderProblems(blocks: readonly DocBlock[]): string[] {
  const out: string[] = [];
  let last: DocBlockAction["kind"] | undefined;
  for (const b of blocks) {
    if (b.action === undefined) continue;
    if (b.action.kind === "output" && last !== "run" && last !== "output") {
      out.push(`${b.file}:${b.line}: an output block must follow a run block`);
    }
    last = b.action.kind;
  }
  return out;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The regular expression of one expected line: `…` matches anything, whitespace runs match any. */
function linePattern(expected: string): RegExp {
  const parts = expected
    .trim()
    .split("…")
    .map((p) => escape(p).replace(/\s+/g, "\\s+"));
  return new RegExp(`^\\s*${parts.join(".*?")}\\s*$`);
}

/**
 * Matches the documented output of a command against what it printed: every non-empty
 * expected line must match a line of `actual`, in the same order (lines in between are
 * allowed, so a page may show an excerpt). In an expected line `…` stands for any text and a
 * run of spaces for any run of whitespace (kubectl sizes its columns to the values). Returns
 * undefined on a match, else the first expected line that found no match.
 */
export function matchOutput(expected: string, actual: string): string | undefined {
  const want = expected.split("\n").filter((l) => l.trim() !== "");
  const got = actual.split("\n");
  let at = 0;
  for (const line of want) {
    const re = linePattern(line);
    while (at < got.length && !re.test(got[at]!)) at++;
    if (at >= got.length) return line;
    at++;
  }
  return undefined;
}

/** The user docs whose blocks are tested (paths relative to the repository root). */
export const USER_DOC_PAGES: readonly string[] = [
  "docs/README.md",
  "docs/install.md",
  "docs/getting-started.md",
  "docs/gitops.md",
  "docs/concepts/treaty.md",
  "docs/concepts/tenant.md",
  "docs/concepts/gpuworkload.md",
  "docs/concepts/receipt.md",
  "docs/concepts/federationpeer.md",
];

/** Relative link targets of a page (`[x](../ledger.md#anchor)` → `../ledger.md`), with lines. */
export function relativeLinks(markdown: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  markdown.split("\n").forEach((text, i) => {
    // Inline code (a CEL rule, a regular expression) is no link.
    for (const m of text.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!.split("#")[0]!;
      if (target === "" || /^[a-z]+:/.test(target)) continue;
      out.push({ target, line: i + 1 });
    }
  });
  return out;
}

/**
 * The reasons a page documents: the backticked names in the Reason column of its Markdown
 * tables (a table whose header has a `Reason` cell).
 */
export function documentedReasons(markdown: string): string[] {
  const out = new Set<string>();
  let column = -1;
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("|")) {
      column = -1;
      continue;
    }
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim());
    if (column < 0) {
      column = cells.indexOf("Reason");
      continue;
    }
    for (const m of (cells[column] ?? "").matchAll(/`([A-Za-z]+)`/g)) out.add(m[1]!);
  }
  return [...out];
}
