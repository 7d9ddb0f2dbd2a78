import { describe, expect, it } from "@jest/globals";
import { GPUWorkloadSchema } from "./index.ts";
import {
  REMOVE,
  issues,
  pathsOfBadField,
  sample,
  withField,
  type BadField,
} from "./test-helpers.ts";

const workload = sample("train-llama-lora");

describe("GPUWorkloadSchema", () => {
  it.each<BadField>([
    ["an unknown GPU type", "spec.gpu.type", "h800"],
    ["zero GPUs", "spec.gpu.count", 0],
    ["a fractional GPU count", "spec.gpu.count", 1.5],
    ["a missing image", "spec.template.image", REMOVE],
    ["a memory that is no quantity", "spec.template.memory", "16 GB"],
    ["a negative CPU", "spec.template.cpu", -1],
    ["a duplicate env name", "spec.template.env[1]", { name: "WANDB_MODE", value: "online" }],
    ["a negative price cap", "spec.maxPricePerHour", -0.5],
    ["an unknown strategy", "spec.routing.strategy", "random"],
    ["an unknown profile", "spec.profile", "spiky"],
    ["a zero runtime", "spec.maxRuntimeSeconds", 0],
  ])("refuses %s", (_what, path, value, wantPath = path) => {
    expect(pathsOfBadField(GPUWorkloadSchema, workload, path, value)).toContain(wantPath);
  });

  it.each<[string, unknown, unknown]>([
    ["integer CPU and string memory", 4, "16Gi"],
    ["millicores and bytes", "500m", 17179869184],
    ["decimal SI", "1.5", "1e9"],
  ])("accepts %s as quantities", (_what, cpu, memory) => {
    const changed = withField(
      withField(workload, "spec.template.cpu", cpu),
      "spec.template.memory",
      memory,
    );
    expect(issues(GPUWorkloadSchema, changed)).toEqual([]);
  });

  it("defaults routing strategy and profile as the CRD does", () => {
    const bare = withField(withField(workload, "spec.routing", REMOVE), "spec.profile", REMOVE);
    const parsed = GPUWorkloadSchema.parse(bare);
    expect(parsed.spec.routing.strategy).toBe("balanced");
    expect(parsed.spec.profile).toBe("batch");
  });
});
