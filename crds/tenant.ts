// Tenant: a customer community of the Arrakis SaaS. The operator provisions its whole stack:
// namespace, quotas, network isolation, RBAC, Postgres rows under RLS, Redis ACL user, Stripe
// billing, Discord guild binding.
import { z } from "zod";
import {
  API_VERSION,
  EMAIL_PATTERN,
  TENANT_SUSPENSION_REASONS,
  TENANT_PLANS,
  TENANT_NAME_MAX_LENGTH,
  SUBSCRIPTION_STATUSES,
} from "./constants.ts";
import {
  AGE_COLUMN,
  conditionColumn,
  ConditionsSchema,
  CountSchema,
  type CrdDefinition,
  defineCrd,
  lineString,
  NamespacedObjectReferenceSchema,
  ObjectMetaSchema,
  ObjectNameSchema,
  ObservedGenerationSchema,
  RegionSchema,
  stringSet,
  uniqueBy,
  MicroUsdSchema,
  UsdSchema,
  withRules,
} from "./common.ts";

/** A user or group granted admin rights in the tenant's namespace. */
export const TenantOwnerSchema = z
  .object({
    kind: z
      .enum(["User", "Group"])
      .default("User")
      .describe("Kind of RBAC subject: User or Group. @default User"),
    name: lineString(256)
      .min(1)
      .describe("Kubernetes user or group name (as authenticated by the apiserver)."),
    email: z
      .string()
      .max(254)
      .regex(EMAIL_PATTERN)
      .optional()
      .describe("Contact e-mail address of the owner."),
  })
  .describe("An RBAC subject granted admin rights in the tenant's namespace.");
/** An owner of a tenant. */
export type TenantOwner = z.infer<typeof TenantOwnerSchema>;

/** Per-tenant overrides of the plan's quotas. */
export const TenantQuotasSchema = z
  .object({
    maxGpus: z.int().min(0).max(100_000).optional().describe("Most GPUs in use at once."),
    maxConcurrentWorkloads: z
      .int()
      .min(0)
      .max(100_000)
      .optional()
      .describe("Most GPUWorkloads running at once."),
    maxGpuHoursPerMonth: z
      .number()
      .min(0)
      .max(1_000_000_000)
      .optional()
      .describe("Most GPU-hours per calendar month (UTC)."),
    maxCostPerMonth: UsdSchema.optional().describe("Most spend per calendar month, in USD."),
  })
  .describe("Overrides of the plan's quotas; an omitted limit keeps the plan's value.");

const snowflake = (what: string): z.ZodString =>
  z
    .string()
    .max(20)
    .regex(/^[0-9]{17,20}$/)
    .describe(`Discord ${what} id (a snowflake, 17-20 digits).`);

const tenantSpecObject = z
  .object({
    displayName: lineString(128)
      .min(1)
      .optional()
      .describe("Human-readable tenant name (one line of text)."),
    owners: z
      .array(TenantOwnerSchema)
      .max(32)
      .check(uniqueBy((o: TenantOwner) => `${o.kind}/${o.name}`, "owner"))
      .optional()
      .describe("Users and groups granted admin rights in the tenant's namespace."),
    plan: z
      .enum(TENANT_PLANS)
      .describe("Subscription plan: free, starter, pro or enterprise; sets default quotas."),
    quotas: TenantQuotasSchema.optional(),
    allowedRegions: stringSet(RegionSchema.describe("A region name."), 32)
      .optional()
      .describe("Regions the tenant's workloads may run in; all when omitted."),
    allowedTreaties: stringSet(ObjectNameSchema.describe("A Treaty name."), 64)
      .optional()
      .describe("Treaties the tenant's workloads may be routed to; all when omitted."),
    billing: z
      .object({
        email: z
          .string()
          .max(254)
          .regex(EMAIL_PATTERN)
          .describe("E-mail address invoices are sent to."),
        stripeCustomerId: z
          .string()
          .max(255)
          .regex(/^cus_[A-Za-z0-9]+$/)
          .optional()
          .describe("Existing Stripe customer to bill; a new one is created when omitted."),
      })
      .optional()
      .describe("Billing details; required for every plan but free."),
    discord: z
      .object({
        guildId: snowflake("guild"),
        channelId: snowflake("channel").optional(),
      })
      .optional()
      .describe("Discord guild (and notification channel) the tenant is bound to."),
    rateLimit: z
      .object({
        requestsPerMinute: z
          .int()
          .min(1)
          .max(1_000_000)
          .describe("Requests per minute allowed to the tenant's API keys."),
      })
      .optional()
      .describe("Rate limit of the tenant's API; the plan's when omitted."),
    suspended: z
      .boolean()
      .default(false)
      .describe(
        "When true, new workloads are refused and running ones are stopped. @default false",
      ),
  })
  .describe("Desired state of a Tenant.");

/** Desired state of a Tenant, with its cross-field rules. */
export const TenantSpecSchema = withRules(tenantSpecObject, [
  {
    rule: "self.plan == 'free' || has(self.billing)",
    message: "billing is required for every plan but free",
    fieldPath: ".billing",
    check: (s) => s.plan === "free" || s.billing !== undefined,
  },
]);
/** Desired state of a Tenant. */
export type TenantSpec = z.infer<typeof TenantSpecSchema>;

/** Observed state of a Tenant. */
export const TenantStatusSchema = z
  .object({
    observedGeneration: ObservedGenerationSchema.optional(),
    conditions: ConditionsSchema.optional().describe(
      "One condition per stack component (Namespace, Quota, Network, Database, Cache, Billing, Discord) and Ready.",
    ),
    namespace: z.string().max(63).optional().describe("Namespace provisioned for the tenant."),
    stripeCustomerId: z.string().max(255).optional().describe("Stripe customer of the tenant."),
    subscriptionStatus: z
      .enum(SUBSCRIPTION_STATUSES)
      .optional()
      .describe("Status of the Stripe subscription."),
    usage: z
      .object({
        gpusInUse: CountSchema.optional().describe("GPUs in use now."),
        gpuHoursThisPeriod: z
          .number()
          .min(0)
          .max(1_000_000_000)
          .optional()
          .describe("GPU-hours used this calendar month (UTC)."),
        costMicroUsd: MicroUsdSchema.optional().describe(
          "Cost this calendar month (UTC) in integer micro-dollars (1 USD = 1000000): the sum of the completion receipts, exactly.",
        ),
        cost: UsdSchema.optional().describe(
          "The same cost in USD (costMicroUsd / 1000000), for display; sum costMicroUsd, not this.",
        ),
      })
      .optional()
      .describe("Usage derived from live workloads and completion receipts."),
    apiKeySecretRef: NamespacedObjectReferenceSchema.optional().describe(
      "Secret holding the tenant's API key.",
    ),
    suspended: z
      .boolean()
      .optional()
      .describe(
        "True when new workloads are refused: spec.suspended, a failed payment (Stripe) or deletion in progress. suspendedReason says which.",
      ),
    suspendedReason: z
      .enum(TENANT_SUSPENSION_REASONS)
      .optional()
      .describe(
        "Why the tenant is suspended: Spec (spec.suspended), PaymentFailed (Stripe invoice.payment_failed) or Deleting (teardown).",
      ),
  })
  .describe("Observed state of a Tenant.");
/** Observed state of a Tenant. */
export type TenantStatus = z.infer<typeof TenantStatusSchema>;

/** A whole Tenant object; its name must leave room for the `tenant-` namespace prefix. */
export const TenantSchema = z
  .object({
    apiVersion: z.literal(API_VERSION).describe("API version of the object."),
    kind: z.literal("Tenant").describe("Kind of the object."),
    metadata: ObjectMetaSchema.extend({
      name: z
        .string()
        .min(1)
        .max(TENANT_NAME_MAX_LENGTH)
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
        .optional()
        .describe("Tenant name: a DNS label of at most 56 characters."),
    }),
    spec: TenantSpecSchema,
    status: TenantStatusSchema.optional(),
  })
  .describe("A customer community of the Arrakis SaaS.");
/** A whole Tenant object. */
export type Tenant = z.infer<typeof TenantSchema>;
/** A Tenant as written by a client: defaulted fields may be omitted. */
export type TenantInput = z.input<typeof TenantSchema>;

/** CRD metadata of Tenant. */
export const TenantCrd: CrdDefinition = defineCrd({
  kind: "Tenant",
  plural: "tenants",
  shortNames: ["tenant"],
  scope: "Cluster",
  description:
    "Tenant is a customer community of the Arrakis SaaS. The operator provisions its stack: namespace tenant-<name>, quotas, network isolation, RBAC, Postgres rows under row-level security, a Redis ACL user, Stripe billing and a Discord guild binding.",
  spec: TenantSpecSchema,
  status: TenantStatusSchema,
  rootValidations: [
    {
      rule: `self.metadata.name.size() <= ${TENANT_NAME_MAX_LENGTH} && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')`,
      message: `metadata.name must be a DNS label of at most ${TENANT_NAME_MAX_LENGTH} characters (the namespace is tenant-<name>)`,
    },
  ],
  printerColumns: [
    { name: "Plan", type: "string", jsonPath: ".spec.plan", description: "Subscription plan." },
    {
      name: "Namespace",
      type: "string",
      jsonPath: ".status.namespace",
      description: "Namespace provisioned for the tenant.",
    },
    conditionColumn("Ready"),
    {
      name: "Subscription",
      type: "string",
      jsonPath: ".status.subscriptionStatus",
      description: "Status of the Stripe subscription.",
    },
    {
      name: "Reason",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
      description: "Reason of the Ready condition.",
    },
    {
      name: "Suspended",
      type: "boolean",
      jsonPath: ".status.suspended",
      description: "Whether new workloads are refused (spec, failed payment or deletion).",
      priority: 1,
    },
    {
      name: "Display Name",
      type: "string",
      jsonPath: ".spec.displayName",
      description: "Human-readable tenant name.",
      priority: 1,
    },
    AGE_COLUMN,
  ],
});
