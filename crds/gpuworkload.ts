// GPUWorkload: a tenant's GPU job. The operator routes it to the best eligible Treaty and runs
// it, in-cluster as a Job on the tainted GPU pool or externally through the provider protocol.
import { z } from "zod";
import {
  API_VERSION,
  DEFAULT_ROUTING_STRATEGY,
  DNS_LABEL_PATTERN,
  ROUTING_STRATEGIES,
  WORKLOAD_PROFILES,
} from "./constants.ts";
import {
  AGE_COLUMN,
  ConditionsSchema,
  type CrdDefinition,
  defineCrd,
  GpuTypeSchema,
  ImageReferenceSchema,
  LocalObjectReferenceSchema,
  ObjectMetaSchema,
  ObjectNameSchema,
  ObservedGenerationSchema,
  QuantitySchema,
  RegionSchema,
  stringSet,
  textString,
  TimestampSchema,
  uniqueBy,
  MicroUsdSchema,
  UsdSchema,
} from "./common.ts";

/** An environment variable of the workload's container. */
export const EnvVarSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/)
      .describe("Name of the environment variable."),
    value: textString(32768)
      .optional()
      .describe("Literal value of the variable; tabs and line breaks allowed."),
    valueFrom: z
      .object({
        secretKeyRef: z
          .object({
            name: ObjectNameSchema.describe("Name of a Secret in the workload's namespace."),
            key: z
              .string()
              .min(1)
              .max(253)
              .regex(/^[-._a-zA-Z0-9]+$/)
              .describe("Key within the Secret."),
          })
          .describe("Takes the value from a key of a Secret in the workload's namespace."),
      })
      .optional()
      .describe("Source of the value, instead of a literal value."),
  })
  .describe("An environment variable of the workload's container.");
/** An environment variable of the workload's container. */
export type EnvVar = z.infer<typeof EnvVarSchema>;

const argList = (what: string): z.ZodArray<z.ZodString> =>
  z
    .array(textString(4096).describe(`One ${what} element; tabs and line breaks allowed.`))
    .max(128)
    .meta({ "x-kubernetes-list-type": "atomic" });

/** The container the workload runs. */
export const WorkloadTemplateSchema = z
  .object({
    image: ImageReferenceSchema.describe(
      "Container image, e.g. ghcr.io/acme/train:1.4 or an image pinned by digest.",
    ),
    command: argList("command")
      .optional()
      .describe("Entrypoint array; the image's ENTRYPOINT when omitted."),
    args: argList("argument").optional().describe("Arguments to the entrypoint."),
    env: z
      .array(EnvVarSchema)
      .max(128)
      .check(uniqueBy((e: EnvVar) => e.name, "env name"))
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .optional()
      .describe("Environment variables of the container."),
    cpu: QuantitySchema.optional().describe("CPU the container requests, e.g. 4 or 500m."),
    memory: QuantitySchema.optional().describe("Memory the container requests, e.g. 16Gi."),
  })
  .describe("The container the workload runs.");

/** How the workload is routed among treaties. */
export const RoutingSchema = z
  .object({
    strategy: z
      .enum(ROUTING_STRATEGIES)
      .default(DEFAULT_ROUTING_STRATEGY)
      .describe(
        "Scoring strategy: balanced (price, latency, reputation, availability), cheapest or fastest. @default balanced",
      ),
    allowedProviders: stringSet(
      z.string().min(1).max(63).regex(DNS_LABEL_PATTERN).describe("A provider name."),
      16,
    )
      .optional()
      .describe("Only treaties with one of these providers are eligible; any when omitted."),
    treatyRef: LocalObjectReferenceSchema.optional().describe(
      "Pins the workload to this Treaty; routing then only checks its eligibility.",
    ),
  })
  .describe("How the workload is routed among treaties.");

/** Desired state of a GPUWorkload. */
export const GPUWorkloadSpecSchema = z
  .object({
    gpu: z
      .object({
        type: GpuTypeSchema,
        count: z.int().min(1).max(64).describe("Number of GPUs, 1..64."),
      })
      .describe("GPUs the workload needs."),
    template: WorkloadTemplateSchema,
    regions: stringSet(RegionSchema.describe("A region name."), 32)
      .optional()
      .describe("Regions the workload may run in; any region when omitted."),
    maxPricePerHour: UsdSchema.optional().describe(
      "Highest acceptable price in USD per GPU-hour; treaties pricing the GPU type higher are ineligible.",
    ),
    routing: RoutingSchema.prefault({}),
    profile: z
      .enum(WORKLOAD_PROFILES)
      .default("batch")
      .describe("Load profile: batch, steady or bursty. @default batch"),
    maxRuntimeSeconds: z
      .int()
      .min(1)
      .max(2_592_000)
      .optional()
      .describe(
        "Longest the workload may run, in seconds (at most 30 days); set by the tenant's plan when omitted.",
      ),
    priority: z
      .int()
      .min(0)
      .max(1000)
      .optional()
      .describe("Priority among the tenant's workloads, 0..1000; higher is routed first."),
  })
  .describe("Desired state of a GPUWorkload: what to run, on which GPUs, under which constraints.");
/** Desired state of a GPUWorkload. */
export type GPUWorkloadSpec = z.infer<typeof GPUWorkloadSpecSchema>;

const TreatyNameSchema = ObjectNameSchema.describe("Name of the Treaty.");
const ProviderNameSchema = z.string().max(63).describe("Provider of the treaty.");
const ScoreSchema = z.number().min(0).max(1).describe("Routing score, 0..1; higher is better.");

/** Where the workload was placed. */
export const PlacementSchema = z
  .object({
    treaty: TreatyNameSchema,
    provider: ProviderNameSchema,
    region: RegionSchema.optional().describe("Region the workload runs in."),
    pricePerHour: UsdSchema.describe("Price in USD per GPU-hour under the chosen treaty."),
    score: ScoreSchema.optional(),
  })
  .describe("The treaty the workload was routed to.");

/** One treaty the router considered. */
export const CandidateSchema = z
  .object({
    treaty: TreatyNameSchema,
    provider: ProviderNameSchema.optional(),
    eligible: z.boolean().describe("Whether the treaty passed every eligibility check."),
    score: ScoreSchema.optional(),
    reasons: z
      .array(z.string().max(256).describe("One reason."))
      .max(16)
      .optional()
      .describe("Why the treaty is ineligible or how its score was made up."),
  })
  .describe("A treaty the router considered, with its score or why it was ineligible.");

/** One attempt to run the workload. */
export const AttemptSchema = z
  .object({
    attempt: z.int().min(1).max(1000).describe("Attempt number, from 1."),
    treaty: TreatyNameSchema,
    provider: ProviderNameSchema,
    jobName: ObjectNameSchema.optional().describe("Job of an in-cluster attempt."),
    externalId: z.string().max(256).optional().describe("Deployment id at an external provider."),
    startTime: TimestampSchema.optional().describe("When the attempt started."),
    endTime: TimestampSchema.optional().describe("When the attempt ended."),
    outcome: z
      .enum(["Running", "Succeeded", "Failed", "Abandoned"])
      .describe("Outcome of the attempt: Running, Succeeded, Failed or Abandoned (failed over)."),
    reason: z.string().max(1024).optional().describe("Why the attempt ended as it did."),
  })
  .describe("One attempt to run the workload under a treaty.");
/** One attempt to run the workload, as `status.attempts[]` records it. */
export type Attempt = z.infer<typeof AttemptSchema>;

/** Observed state of a GPUWorkload. */
export const GPUWorkloadStatusSchema = z
  .object({
    observedGeneration: ObservedGenerationSchema.optional(),
    conditions: ConditionsSchema.optional().describe(
      "Admitted, Routed, Running, Complete, Failed and Ready; the Ready reason summarises the state.",
    ),
    placement: PlacementSchema.optional(),
    candidates: z
      .array(CandidateSchema)
      .max(64)
      .optional()
      .describe("Treaties considered by the last routing decision, best first."),
    attempts: z.array(AttemptSchema).max(32).optional().describe("Attempts, oldest first."),
    jobRef: LocalObjectReferenceSchema.optional().describe(
      "Job of the current in-cluster attempt.",
    ),
    startTime: TimestampSchema.optional().describe("When the first attempt started running."),
    completionTime: TimestampSchema.optional().describe("When the workload finished."),
    gpuSeconds: z
      .number()
      .min(0)
      .max(1e15)
      .optional()
      .describe("GPU-seconds used, summed over attempts."),
    costMicroUsd: MicroUsdSchema.optional().describe(
      "Cost in integer micro-dollars (1 USD = 1000000), summed exactly over attempts: the record.",
    ),
    cost: UsdSchema.optional().describe(
      "The same cost in USD (costMicroUsd / 1000000), for display; sum costMicroUsd, not this.",
    ),
    receiptRef: LocalObjectReferenceSchema.optional().describe(
      "Receipt recording the workload's outcome.",
    ),
  })
  .describe("Observed state of a GPUWorkload.");
/** Observed state of a GPUWorkload. */
export type GPUWorkloadStatus = z.infer<typeof GPUWorkloadStatusSchema>;

/** A whole GPUWorkload object. */
export const GPUWorkloadSchema = z
  .object({
    apiVersion: z.literal(API_VERSION).describe("API version of the object."),
    kind: z.literal("GPUWorkload").describe("Kind of the object."),
    metadata: ObjectMetaSchema,
    spec: GPUWorkloadSpecSchema,
    status: GPUWorkloadStatusSchema.optional(),
  })
  .describe("A tenant's GPU job.");
/** A whole GPUWorkload object. */
export type GPUWorkload = z.infer<typeof GPUWorkloadSchema>;
/** A GPUWorkload as written by a client: defaulted fields may be omitted. */
export type GPUWorkloadInput = z.input<typeof GPUWorkloadSchema>;

/** CRD metadata of GPUWorkload. */
export const GPUWorkloadCrd: CrdDefinition = defineCrd({
  kind: "GPUWorkload",
  plural: "gpuworkloads",
  shortNames: ["gpuw"],
  scope: "Namespaced",
  description:
    "GPUWorkload is a tenant's GPU job. The operator routes it to the best eligible Treaty and runs it: in-cluster as a Job on the tainted GPU pool, or externally through the provider protocol; on completion it records a signed Receipt.",
  spec: GPUWorkloadSpecSchema,
  status: GPUWorkloadStatusSchema,
  printerColumns: [
    { name: "GPU", type: "string", jsonPath: ".spec.gpu.type", description: "GPU type." },
    {
      name: "Count",
      type: "integer",
      jsonPath: ".spec.gpu.count",
      description: "Number of GPUs.",
      priority: 1,
    },
    {
      name: "Provider",
      type: "string",
      jsonPath: ".status.placement.provider",
      description: "Provider the workload was placed with.",
    },
    {
      name: "Treaty",
      type: "string",
      jsonPath: ".status.placement.treaty",
      description: "Treaty the workload was routed to.",
    },
    {
      name: "Cost",
      type: "number",
      jsonPath: ".status.cost",
      description: "Cost so far in USD, exact to the micro-dollar.",
    },
    {
      name: "Status",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
      description: "Reason of the Ready condition.",
    },
    {
      name: "Receipt",
      type: "string",
      jsonPath: ".status.receiptRef.name",
      description: "Receipt of the outcome.",
    },
    AGE_COLUMN,
  ],
});
