/**
 * Tampering with signed notes for tests: flips one bit of a signature so that exactly that
 * signature stops verifying while the note stays well-formed.
 */
import { fromBase64, toBase64 } from "../../services/ledger/canonical-json.ts";

/**
 * Flips the lowest bit of the last byte (inside the Ed25519 signature) of the signature line
 * of key `name` in `note`, or of the first signature line when `name` is omitted.
 */
export function flipSignatureBit(note: string, name?: string): string {
  const split = note.lastIndexOf("\n\n");
  const lines = note.slice(split + 2).split("\n");
  const i = lines.findIndex((l) =>
    name === undefined ? l.startsWith("\u2014 ") : l.startsWith(`\u2014 ${name} `),
  );
  if (i < 0) throw new Error(`no signature line${name === undefined ? "" : ` of ${name}`}`);
  const line = lines[i]!;
  const space = line.lastIndexOf(" ");
  const blob = fromBase64(line.slice(space + 1));
  blob[blob.length - 1]! ^= 1;
  lines[i] = `${line.slice(0, space + 1)}${toBase64(blob)}`;
  return `${note.slice(0, split + 2)}${lines.join("\n")}`;
}
