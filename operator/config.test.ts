import { readFileSync } from "node:fs";
import { OPERATOR_NODE_FLAGS } from "./config.ts";

// The operator's Node flags are written out in three places; they must agree.
describe("operator Node flags", () => {
  it.each([
    ["the Deployment", "config/manager/operator.yaml", /command: \[(.*)\]/],
    ["make dev", "hack/dev.sh", /nohup node (.*) >/],
  ])("%s starts the operator with OPERATOR_NODE_FLAGS", (_where, file, re) => {
    const line = re.exec(readFileSync(file, "utf8"))?.[1] ?? "";
    const args = line
      .split(/[\s,]+/)
      .map((a) => a.replace(/"/g, ""))
      .filter((a) => a.startsWith("--"));
    expect(args).toEqual([...OPERATOR_NODE_FLAGS]);
    expect(line).toContain("operator/main.ts");
  });
});
