// Treaty: a contract with a GPU provider — an external network (Akash, io.net, …) or the
// cluster's own tainted GPU pool. Shaped after the seed's AURORA-AKASH-001 treaty format.
import { z } from "zod";
import {
  API_VERSION,
  DNS_LABEL_PATTERN,
  QUALIFIED_NAME_PATTERN,
  LABEL_VALUE_PATTERN,
  HTTP_URL_PATTERN,
  IN_CLUSTER_PROVIDER,
} from "./constants.ts";
import {
  AGE_COLUMN,
  conditionColumn,
  ConditionsSchema,
  CountSchema,
  type CrdDefinition,
  DateSchema,
  defineCrd,
  FractionSchema,
  GpuTypeSchema,
  lineString,
  ObjectMetaSchema,
  ObservedGenerationSchema,
  RegionSchema,
  SecretKeyReferenceSchema,
  stringSet,
  TimestampSchema,
  tokenString,
  uniqueBy,
  UsdSchema,
  withRules,
} from "./common.ts";

/** Price of one GPU type under a treaty. */
export const TreatyPriceSchema = z
  .object({
    gpuType: GpuTypeSchema,
    usdPerHour: UsdSchema.max(10_000).describe(
      "Price of one GPU of this type for one hour, in USD.",
    ),
  })
  .describe("Price of one GPU type.");
/** Price of one GPU type under a treaty. */
export type TreatyPrice = z.infer<typeof TreatyPriceSchema>;

/** Service-level objectives the provider committed to. */
export const TreatySloSchema = z
  .object({
    availability: FractionSchema.describe("Committed availability, 0..1 (e.g. 0.99)."),
    maxProvisionTimeSeconds: z
      .int()
      .min(1)
      .max(86_400)
      .optional()
      .describe("Longest time from a job's submission to its GPUs running, in seconds."),
    maxLatencyMs: z
      .int()
      .min(1)
      .max(600_000)
      .optional()
      .describe("Highest acceptable p95 round-trip time to the provider, in milliseconds."),
  })
  .describe("Service-level objectives of the treaty; breaching them degrades the treaty.");

/** Usage limits of a treaty; an absent limit is unlimited. */
export const TreatyQuotasSchema = z
  .object({
    maxConcurrentJobs: z
      .int()
      .min(0)
      .max(1_000_000)
      .optional()
      .describe("Most workloads running under this treaty at once. Unlimited when omitted."),
    maxGpuHoursPerMonth: z
      .number()
      .min(0)
      .max(1_000_000_000)
      .optional()
      .describe("Most GPU-hours per calendar month (UTC). Unlimited when omitted."),
  })
  .describe("Usage limits of the treaty; an omitted limit is unlimited.");

/** How workloads of an in-cluster treaty are placed on the cluster's GPU pool. */
export const InClusterPoolSchema = z
  .object({
    nodeSelector: z
      .record(z.string().max(317), z.string().max(63))
      .meta({ maxProperties: 16 })
      .describe(
        "Node labels a GPU node carries (e.g. role: gpu); copied into the Job's nodeSelector.",
      ),
    gpuTypeLabel: z
      .string()
      .min(1)
      .max(317)
      .regex(QUALIFIED_NAME_PATTERN)
      .describe("Node label whose value is the node's GPU type (e.g. gpu-type=a10g)."),
    taint: z
      .object({
        key: z
          .string()
          .min(1)
          .max(317)
          .regex(QUALIFIED_NAME_PATTERN)
          .describe("Taint key, e.g. nvidia.com/gpu."),
        value: z
          .string()
          .max(63)
          .regex(LABEL_VALUE_PATTERN)
          .optional()
          .describe('Taint value, e.g. "true".'),
        effect: z
          .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"])
          .describe("Taint effect: NoSchedule, PreferNoSchedule or NoExecute."),
      })
      .optional()
      .describe("Taint on the GPU nodes; workloads get the matching toleration."),
    gpuResourceName: z
      .string()
      .min(1)
      .max(317)
      .regex(QUALIFIED_NAME_PATTERN)
      .default("nvidia.com/gpu")
      .describe("Extended resource that counts GPUs on a node. @default nvidia.com/gpu"),
  })
  .describe("Placement on the cluster's own GPU pool (set only when provider is in-cluster).");
/** How workloads of an in-cluster treaty are placed on the cluster's GPU pool. */
export type InClusterPool = z.infer<typeof InClusterPoolSchema>;

const vaultLawObject = z
  .object({
    policyRef: tokenString(1024)
      .optional()
      .describe(
        "Location of the policy module (e.g. policy/wasm/akash-quota-policy.wasm or an oci:// or https:// URI); a governance-only treaty has none.",
      ),
    policyDigest: z
      .string()
      .max(71)
      .regex(/^sha256:[0-9a-f]{64}$/)
      .optional()
      .describe("sha256:<hex> digest the policy module must match."),
    governance: lineString(256)
      .min(1)
      .describe("Governance decision that approved the treaty (e.g. DAO vote #AKASH-001)."),
  })
  .describe('Policy ("vault-law") governing workloads under this treaty.');

/** Policy ("vault-law") governing the treaty. */
export const VaultLawSchema = withRules(vaultLawObject, [
  {
    rule: "!has(self.policyDigest) || has(self.policyRef)",
    message: "policyDigest needs a policyRef",
    fieldPath: ".policyDigest",
    check: (v) => v.policyDigest === undefined || v.policyRef !== undefined,
  },
]);

const treatySpecObject = z
  .object({
    provider: z
      .string()
      .min(1)
      .max(63)
      .regex(DNS_LABEL_PATTERN)
      .describe(
        "Provider network: akash, ionet, render, flux, vastai, salad, aethir, … or in-cluster for the cluster's own GPU pool.",
      ),
    treatyId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/)
      .optional()
      .describe("Identifier of the treaty as signed with the provider (e.g. AURORA-AKASH-001)."),
    regions: stringSet(RegionSchema.describe("A region name."), 32)
      .min(1)
      .describe("Regions the provider serves under this treaty (e.g. us-west)."),
    pricing: z
      .array(TreatyPriceSchema)
      .min(1)
      .max(16)
      .check(uniqueBy((p: TreatyPrice) => p.gpuType, "gpuType"))
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["gpuType"] })
      .describe("Price per GPU type in USD per GPU-hour; only the GPU types listed are offered."),
    slo: TreatySloSchema.optional(),
    quotas: TreatyQuotasSchema.optional(),
    reputationFloor: FractionSchema.default(0).describe(
      "Lowest reputation (0..1) at which the treaty stays eligible for routing. @default 0",
    ),
    effectiveDate: DateSchema.optional().describe(
      "First day (UTC) the treaty is in force; in force immediately when omitted.",
    ),
    expiryDate: DateSchema.optional().describe(
      "Day (UTC) from which the treaty no longer applies; must be after effectiveDate.",
    ),
    endpoint: z
      .string()
      .max(2048)
      .regex(HTTP_URL_PATTERN)
      .optional()
      .describe("Base URL of the provider's API (external providers only)."),
    credentialsSecretRef: SecretKeyReferenceSchema.optional().describe(
      "Secret holding the credentials for the provider's API (external providers only).",
    ),
    inCluster: InClusterPoolSchema.optional(),
    vaultLaw: VaultLawSchema.optional(),
    suspended: z
      .boolean()
      .default(false)
      .describe("When true, no new workloads are routed under this treaty. @default false"),
  })
  .describe("Desired state of a Treaty: the terms agreed with the provider.");

/** Desired state of a Treaty, with its cross-field rules. */
export const TreatySpecSchema = withRules(treatySpecObject, [
  {
    // has(self.provider) keeps a missing provider to its own "Required value" error.
    rule: "has(self.inCluster) == (has(self.provider) && self.provider == 'in-cluster')",
    message: "inCluster must be set if and only if provider is in-cluster",
    fieldPath: ".inCluster",
    check: (s) => (s.inCluster !== undefined) === (s.provider === IN_CLUSTER_PROVIDER),
  },
  {
    rule: "!has(self.inCluster) || (!has(self.endpoint) && !has(self.credentialsSecretRef))",
    message:
      "endpoint and credentialsSecretRef apply only to external providers, not with inCluster",
    fieldPath: ".endpoint",
    check: (s) =>
      s.inCluster === undefined ||
      (s.endpoint === undefined && s.credentialsSecretRef === undefined),
  },
  {
    rule: "!has(self.expiryDate) || !has(self.effectiveDate) || self.expiryDate > self.effectiveDate",
    message: "expiryDate must be after effectiveDate",
    fieldPath: ".expiryDate",
    check: (s) =>
      s.expiryDate === undefined || s.effectiveDate === undefined || s.expiryDate > s.effectiveDate,
  },
]);
/** Desired state of a Treaty. */
export type TreatySpec = z.infer<typeof TreatySpecSchema>;

/** Observed state of a Treaty. */
export const TreatyStatusSchema = z
  .object({
    observedGeneration: ObservedGenerationSchema.optional(),
    conditions: ConditionsSchema.optional().describe(
      "Ready (eligible for routing; False with EndpointMissing or CredentialsMissing when the provider cannot be reached as configured), Degraded (SLO breached or reputation below the floor), Expired (past expiryDate).",
    ),
    reputation: FractionSchema.optional().describe(
      "Reputation computed from evidence (completions, failures, SLO breaches), 0..1.",
    ),
    availability: FractionSchema.optional().describe("Measured availability, 0..1."),
    latencyMs: z
      .number()
      .min(0)
      .max(3_600_000)
      .optional()
      .describe("Measured p95 round-trip time to the provider, in milliseconds."),
    activeJobs: CountSchema.optional().describe("Workloads currently running under the treaty."),
    gpuHoursThisPeriod: z
      .number()
      .min(0)
      .max(1_000_000_000)
      .optional()
      .describe("GPU-hours used in the current quota period (calendar month, UTC)."),
    periodStart: TimestampSchema.optional().describe("Start of the current quota period."),
    fillRate: FractionSchema.optional().describe(
      "Share of workloads routed to the treaty that were placed, 0..1 (seed goal ≥ 0.8).",
    ),
  })
  .describe("Observed state of a Treaty.");
/** Observed state of a Treaty. */
export type TreatyStatus = z.infer<typeof TreatyStatusSchema>;

/** A whole Treaty object. */
export const TreatySchema = z
  .object({
    apiVersion: z.literal(API_VERSION).describe("API version of the object."),
    kind: z.literal("Treaty").describe("Kind of the object."),
    metadata: ObjectMetaSchema,
    spec: TreatySpecSchema,
    status: TreatyStatusSchema.optional(),
  })
  .describe("A contract with a GPU provider.");
/** A whole Treaty object. */
export type Treaty = z.infer<typeof TreatySchema>;
/** A Treaty as written by a client: defaulted fields may be omitted. */
export type TreatyInput = z.input<typeof TreatySchema>;

/** CRD metadata of Treaty. */
export const TreatyCrd: CrdDefinition = defineCrd({
  kind: "Treaty",
  plural: "treaties",
  shortNames: ["treaty"],
  scope: "Cluster",
  description:
    "Treaty is a contract with a GPU provider — an external network (Akash, io.net, …) or the cluster's own tainted GPU pool: regions, USD/hour per GPU type, SLO, quotas, reputation floor and vault-law policy. GPUWorkloads are routed to the best eligible Treaty.",
  spec: TreatySpecSchema,
  status: TreatyStatusSchema,
  printerColumns: [
    {
      name: "Provider",
      type: "string",
      jsonPath: ".spec.provider",
      description: "Provider network.",
    },
    conditionColumn("Ready"),
    {
      name: "Reputation",
      type: "number",
      jsonPath: ".status.reputation",
      description: "Reputation from evidence, 0..1.",
    },
    {
      name: "Active",
      type: "integer",
      jsonPath: ".status.activeJobs",
      description: "Workloads running under the treaty.",
    },
    {
      name: "Fill",
      type: "number",
      jsonPath: ".status.fillRate",
      description: "Share of routed workloads that were placed.",
    },
    {
      name: "Regions",
      type: "string",
      jsonPath: ".spec.regions",
      description: "Regions served.",
      priority: 1,
    },
    conditionColumn("Degraded", "Degraded", 1),
    {
      name: "Suspended",
      type: "boolean",
      jsonPath: ".spec.suspended",
      description: "Whether routing to the treaty is suspended.",
      priority: 1,
    },
    AGE_COLUMN,
  ],
});
