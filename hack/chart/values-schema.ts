// The values of the Helm chart charts/vaultmesh as a zod schema: the single source of
// charts/vaultmesh/values.schema.json (what `helm install`/`helm template`/`helm lint` check the
// values against) and of charts/vaultmesh/values.yaml (every default, with its description as a
// comment), like crds/ is for the CRDs (ADR 0004, ADR 0062). Objects are strict: a misspelt key
// is refused by name instead of being ignored. Credentials only ever appear as Secret references.
import { z } from "zod";
import {
  DNS_LABEL_PATTERN,
  DNS_SUBDOMAIN_PATTERN,
  HTTP_URL_PATTERN,
  QUANTITY_PATTERN,
} from "../../crds/constants.ts";
import { DEFAULT_JOB_CONTROLLERS } from "../../webhooks/manifests.ts";

// A Kubernetes user name as it goes into a CEL string literal of the webhook configurations
// (no quote, backslash or whitespace to escape) and into the server's comma-separated
// VAULTMESH_GPU_JOB_CREATORS (no comma: one entry must be one identity in both).
const identity = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^'"\\\s{},]+$/);

const optionalPattern = (re: RegExp): RegExp => new RegExp(`^(${re.source.slice(1, -1)})?$`);

const objectName = z.string().max(253).regex(DNS_SUBDOMAIN_PATTERN);
const optionalObjectName = z.string().max(253).regex(optionalPattern(DNS_SUBDOMAIN_PATTERN));
const namespaceName = z.string().min(1).max(63).regex(DNS_LABEL_PATTERN);
const secretKey = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/);
const optionalUrl = z.string().max(2048).regex(optionalPattern(HTTP_URL_PATTERN));
const port = z.int().min(1).max(65535);
const quantity = z.union([z.int().min(0), z.string().max(64).regex(QUANTITY_PATTERN)]);
const duration = z
  .string()
  .max(32)
  .regex(/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
/** A free-form map or list passed through to the Kubernetes object as it is. */
const passThroughMap = z.record(z.string(), z.unknown());
const passThroughList = z.array(passThroughMap);

/** A key of a Secret in the release namespace; an empty name means "not configured". */
function secretRef(key: string, what: string) {
  return z
    .strictObject({
      name: optionalObjectName
        .default("")
        .describe(`Name of the Secret (in the release namespace) holding ${what}; empty: unset.`),
      key: secretKey.default(key).describe("Key in that Secret."),
    })
    .prefault({})
    .describe(`Secret reference for ${what}.`);
}

/** A required Secret key reference with a default name. */
function requiredSecretRef(name: string, key: string, what: string) {
  return z
    .strictObject({
      name: objectName.default(name).describe(`Name of the Secret holding ${what}.`),
      key: secretKey.default(key).describe("Key in that Secret."),
    })
    .prefault({})
    .describe(`Secret reference for ${what}.`);
}

const resources = (requests: { cpu: string; memory: string }, memoryLimit: string) =>
  z
    .strictObject({
      requests: z
        .strictObject({ cpu: quantity.optional(), memory: quantity.optional() })
        .optional(),
      limits: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).optional(),
    })
    .default({ requests, limits: { memory: memoryLimit } })
    .describe("Container resources (requests and limits).");

const pdb = (enabled: boolean) =>
  z
    .strictObject({
      enabled: z
        .boolean()
        .default(enabled)
        .describe("Create a PodDisruptionBudget (only rendered when replicas > 1)."),
      minAvailable: z.int().min(0).default(1).describe("Pods that must stay available."),
    })
    .prefault({})
    .describe("PodDisruptionBudget of the component.");

const envVar = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/),
    value: z.string().max(32768).optional(),
    valueFrom: passThroughMap.optional(),
  })
  .describe("An environment variable (value or valueFrom).");

/** Scheduling and pod settings every component has. */
function podSettings() {
  return {
    nodeSelector: z
      .record(z.string(), z.string().max(63))
      .default({})
      .describe("Node labels the pods must match."),
    tolerations: passThroughList.max(64).default([]).describe("Pod tolerations."),
    affinity: passThroughMap.default({}).describe("Pod affinity rules."),
    topologySpreadConstraints: passThroughList
      .max(16)
      .default([])
      .describe("Extra topology spread constraints of the pods."),
    priorityClassName: optionalObjectName.default("").describe("PriorityClass of the pods."),
    podAnnotations: z
      .record(z.string(), z.string())
      .default({})
      .describe("Extra annotations on the pods."),
    podLabels: z
      .record(z.string(), z.string().max(63))
      .default({})
      .describe("Extra labels on the pods (never used in selectors)."),
    extraEnv: z
      .array(envVar)
      .max(64)
      .default([])
      .describe("Extra environment variables of the container (never put credentials here)."),
  };
}

const operator = z
  .strictObject({
    replicas: z
      .int()
      .min(1)
      .max(10)
      .default(2)
      .describe("Operator replicas; one leader reconciles, the others stand by."),
    leaderElection: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe("Campaign for the Lease (turn off only with one replica)."),
        leaseDurationSeconds: z.int().min(1).max(600).default(15).describe("Lease duration."),
        renewDeadlineSeconds: z
          .int()
          .min(1)
          .max(600)
          .default(10)
          .describe("How long the leader keeps trying to renew before giving up."),
        retryPeriodSeconds: z
          .int()
          .min(1)
          .max(600)
          .default(2)
          .describe("Interval between lease attempts."),
      })
      .prefault({})
      .describe("Lease leader election in the release namespace."),
    workers: z.int().min(1).max(64).default(4).describe("Concurrent GPUWorkload reconciles."),
    logLevel: z
      .enum(["trace", "debug", "info", "warn", "error", "fatal"])
      .default("info")
      .describe("Log level (pino)."),
    treatySelector: z
      .string()
      .max(1024)
      .default("")
      .describe("Only Treaties matching this label selector; all when empty."),
    resources: resources({ cpu: "200m", memory: "256Mi" }, "512Mi"),
    podDisruptionBudget: pdb(true),
    ...podSettings(),
  })
  .prefault({})
  .describe("The operator (controllers for every kind, leader elected).");

const webhook = z
  .strictObject({
    replicas: z.int().min(1).max(20).default(2).describe("Webhook server replicas."),
    certificates: z
      .strictObject({
        mode: z
          .enum(["managed", "certManager"])
          .default("managed")
          .describe(
            "managed: the webhook server creates and rotates its certificate Secret and injects the CA into the webhook configurations itself. certManager: cert-manager issues the Secret (mounted) and its cainjector injects the CA.",
          ),
        secretName: objectName
          .default("vaultmesh-webhook-tls")
          .describe("Secret holding the serving certificate (tls.crt, tls.key, ca.crt)."),
        certManager: z
          .strictObject({
            issuerRef: z
              .strictObject({
                name: optionalObjectName
                  .default("")
                  .describe(
                    "An existing issuer; empty: the chart creates a self-signed CA and an Issuer for it.",
                  ),
                kind: z.enum(["Issuer", "ClusterIssuer"]).default("Issuer").describe("Its kind."),
                group: z.string().max(253).default("cert-manager.io").describe("Its API group."),
              })
              .prefault({})
              .describe("Issuer of the serving certificate."),
            duration: duration.default("2160h").describe("Lifetime of the serving certificate."),
            renewBefore: duration.default("360h").describe("Renew this long before expiry."),
          })
          .prefault({})
          .describe("Settings of the certManager mode."),
      })
      .prefault({})
      .describe("Serving certificate of the webhooks (ADR 0063)."),
    gpuJobCreators: z
      .array(identity)
      .max(32)
      .default([])
      .describe(
        "Users besides the operator allowed to create GPU Jobs in tenant namespaces (e.g. system:serviceaccount:ns:name); the Job guard is not called for them (ADR 0101).",
      ),
    jobControllers: z
      .array(identity)
      .max(8)
      .default([...DEFAULT_JOB_CONTROLLERS])
      .describe(
        "Identities of kube-controller-manager's Job controller: their writes of pods a Job controls skip the GPU pod guard, the Job guard having checked the template (ADR 0101). Empty: every GPU pod is sent to the guard.",
      ),
    recordDenials: z
      .boolean()
      .default(false)
      .describe(
        "Record every denial as a PolicyDenied receipt (needs the ledger database and signing key in the webhook pods).",
      ),
    denialQueueSize: z
      .int()
      .min(1)
      .max(100000)
      .default(1000)
      .describe("Most denials waiting for the ledger."),
    resources: resources({ cpu: "250m", memory: "128Mi" }, "512Mi"),
    podDisruptionBudget: pdb(true),
    ...podSettings(),
  })
  .prefault({})
  .describe("The admission webhook server.");

const ledger = z
  .strictObject({
    database: z
      .strictObject({
        urlSecretRef: requiredSecretRef("vaultmesh-ledger", "url", "the ledger's Postgres URL"),
      })
      .prefault({})
      .describe("The ledger's Postgres database (operator and publisher)."),
    signingKeySecretName: objectName
      .default("vaultmesh-signing-key")
      .describe("Secret with the receipt signing key ed25519.key (PKCS#8 PEM) for the operator."),
    keysSecretName: objectName
      .default("vaultmesh-ledger-keys")
      .describe(
        "Secret with the directory `remembrancer keygen` writes, for the publisher (same ed25519.key).",
      ),
    origin: z
      .string()
      .max(253)
      .default("")
      .describe(
        "Log origin (checkpoint name) the ledger takes when first opened, e.g. ledger.example.com/vaultmesh; " +
          "empty: derived from the signing key. Fixed afterwards: a different value stops the publisher (docs/ledger.md).",
      ),
    publisher: z
      .strictObject({
        publishEverySeconds: z
          .int()
          .min(0)
          .max(86400)
          .default(10)
          .describe("Publish (sign, time-stamp) the newest tree head this often; 0 never."),
        port: port.default(8090).describe("Port of the proof API."),
        resources: resources({ cpu: "100m", memory: "128Mi" }, "512Mi"),
        ...podSettings(),
      })
      .prefault({})
      .describe("The publisher and proof API (`remembrancer serve`), one replica."),
  })
  .prefault({})
  .describe("The Remembrancer ledger.");

const federation = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "Federation with other ledgers (docs/federation.md): the operator syncs FederationPeers and cosigns " +
          "them with the witness key, and the ledger serves the tlog-witness endpoint with the same key, " +
          "trusting the peers the operator records from the FederationPeers (ADR 0094).",
      ),
    witnessKeySecretRef: requiredSecretRef(
      "vaultmesh-witness-key",
      "witness.key",
      "the witness's Ed25519 PKCS#8 PEM private key (`remembrancer federation init` writes witness.key; never the log key)",
    ),
    witnessName: z
      .string()
      .max(253)
      .regex(/^([^\s+]+)?$/)
      .default("")
      .describe("The witness's key name; empty: <origin>/witness."),
  })
  .prefault({})
  .describe("Federation: the FederationPeer controller's and the ledger's witness key.");

const tsa = z
  .strictObject({
    url: optionalUrl
      .default("")
      .describe("RFC 3161 time-stamp authority for tree heads; empty: none (or the dev TSA)."),
    caSecretRef: secretRef("ca.crt", "the CA certificate (PEM) of that TSA"),
    development: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            "Run the development TSA (`remembrancer tsa serve`) in the release namespace and use it when url is empty. Not for production.",
          ),
        keysSecretName: optionalObjectName
          .default("")
          .describe(
            "Secret with tsa.crt, tsa.key and tsa-ca.crt; empty: a new key at every start (tokens then verify only against the CA of their time).",
          ),
        port: port.default(8318).describe("Port of the development TSA."),
        resources: resources({ cpu: "50m", memory: "96Mi" }, "256Mi"),
        ...podSettings(),
      })
      .prefault({})
      .describe("The in-cluster development TSA."),
  })
  .prefault({})
  .describe("RFC 3161 time-stamping of published tree heads.");

const bridge = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "The tenant API (aurora-bridge, docs/bridge.md): workloads, quotes, usage and proofs by API key; needs the tenant stack.",
      ),
    replicas: z
      .int()
      .min(1)
      .max(20)
      .default(2)
      .describe("Bridge replicas (one shared rate-limit budget)."),
    port: port.default(8080).describe("HTTP port of the tenant API."),
    database: z
      .strictObject({
        urlSecretRef: requiredSecretRef(
          "vaultmesh-bridge-db",
          "url",
          "the Arrakis database URL as the application role",
        ),
      })
      .prefault({})
      .describe("The Arrakis database the API keys are checked in (row-level security)."),
    redis: z
      .strictObject({
        urlSecretRef: requiredSecretRef("vaultmesh-redis", "url", "the Redis URL (tenant limits)"),
      })
      .prefault({})
      .describe("Redis holding the tenants' limits and rate-limit windows."),
    resources: resources({ cpu: "200m", memory: "128Mi" }, "512Mi"),
    ...podSettings(),
  })
  .prefault({})
  .describe("The tenant API.");

const tenants = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Run the Tenant controller in the operator."),
    selector: z
      .string()
      .max(1024)
      .default("")
      .describe("Only Tenants matching this label selector; all when empty."),
    workers: z.int().min(1).max(64).default(4).describe("Concurrent Tenant reconciles."),
    teardownGraceSeconds: z
      .int()
      .min(0)
      .max(604800)
      .default(600)
      .describe("How long running workloads may finish when a Tenant is deleted."),
    database: z
      .strictObject({
        urlSecretRef: secretRef("url", "the Arrakis database URL as the application role"),
        migrateUrlSecretRef: secretRef(
          "url",
          "the owner URL used to migrate the Arrakis schema at start",
        ),
      })
      .prefault({})
      .describe("The Arrakis tenant database (Postgres, row-level security)."),
    redis: z
      .strictObject({
        urlSecretRef: secretRef("url", "the Redis URL (ACL admin rights)"),
      })
      .prefault({})
      .describe("Redis for tenant ACL users and rate limits."),
    stripe: z
      .strictObject({
        apiKeySecretRef: secretRef("apiKey", "the Stripe secret key (turns billing on)"),
        apiBase: optionalUrl
          .default("")
          .describe("Another Stripe endpoint (stripe-mock); empty: api.stripe.com."),
        planPrices: z
          .strictObject({
            starter: z.string().max(255).default("").describe("Price id of the starter plan."),
            pro: z.string().max(255).default("").describe("Price id of the pro plan."),
            enterprise: z
              .string()
              .max(255)
              .default("")
              .describe("Price id of the enterprise plan."),
          })
          .prefault({})
          .describe("Stripe price id per plan."),
        gpuSecondsPrice: z
          .string()
          .max(255)
          .default("")
          .describe("Metered price attached to the GPU-seconds meter."),
        meterEventName: z
          .string()
          .min(1)
          .max(100)
          .default("vaultmesh_gpu_seconds")
          .describe("The meter's event_name."),
        webhook: z
          .strictObject({
            secretRef: secretRef("webhookSecret", "the Stripe webhook signing secret"),
            port: port.default(9090).describe("Port of POST /stripe/webhook on the operator."),
          })
          .prefault({})
          .describe(
            "Serve Stripe's webhook (payment failed/succeeded) when secretRef.name is set.",
          ),
      })
      .prefault({})
      .describe("Stripe billing; on when apiKeySecretRef.name is set."),
    discord: z
      .strictObject({
        tokenSecretRef: secretRef("token", "the Discord bot token"),
        applicationId: z
          .string()
          .max(32)
          .regex(/^([0-9]+)?$/)
          .default("")
          .describe("The bot's application id (needed with the token)."),
        api: optionalUrl.default("").describe("Another Discord REST base URL (a stand-in)."),
      })
      .prefault({})
      .describe("The Discord bot; on when tokenSecretRef.name is set."),
    network: z
      .strictObject({
        platformNamespaces: z
          .array(namespaceName)
          .max(32)
          .default([])
          .describe(
            "Namespaces allowed to and from tenant pods; empty: the release namespace alone.",
          ),
        clusterCidrs: z
          .array(z.string().max(64))
          .max(64)
          .default([])
          .describe("Pod/service CIDRs excluded from internet egress; empty: RFC 1918."),
        internetEgress: z.boolean().default(true).describe("Allow tenant pods internet egress."),
      })
      .prefault({})
      .describe("Tenant network isolation."),
  })
  .prefault({})
  .describe("The Arrakis tenant stack (docs/tenants.md).");

const peers = passThroughList
  .max(32)
  .default([])
  .describe("NetworkPolicy peers allowed in; empty: any source.");

/** The chart's values. */
export const ChartValuesSchema = z
  .strictObject({
    global: passThroughMap
      .optional()
      .describe("Values shared with subcharts when VaultMesh is one (Helm's convention)."),
    namespace: z
      .strictObject({
        create: z
          .boolean()
          .default(false)
          .describe(
            "Render the release Namespace (labelled vaultmesh.cloud/system); off when Helm or Argo CD creates it.",
          ),
      })
      .prefault({})
      .describe("The release namespace."),
    crds: z
      .strictObject({
        install: z.boolean().default(true).describe("Install the VaultMesh CRDs."),
        keep: z
          .boolean()
          .default(true)
          .describe("Keep the CRDs (and so every VaultMesh object) on helm uninstall."),
      })
      .prefault({})
      .describe("The CustomResourceDefinitions."),
    image: z
      .strictObject({
        repository: z
          .string()
          .min(1)
          .max(255)
          .regex(/^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/)
          .default("ghcr.io/vaultmesh/vaultmesh")
          .describe("Image repository (one image for every process)."),
        tag: z
          .string()
          .max(128)
          .regex(/^([\w][\w.-]*)?$/)
          .default("")
          .describe("Image tag; the chart's appVersion when empty."),
        digest: z
          .string()
          .regex(/^(sha256:[0-9a-f]{64})?$/)
          .default("")
          .describe("Image digest (sha256:…); used instead of the tag when set."),
        pullPolicy: z
          .enum(["Always", "IfNotPresent", "Never"])
          .default("IfNotPresent")
          .describe("Image pull policy."),
      })
      .prefault({})
      .describe("The VaultMesh image."),
    imagePullSecrets: z
      .array(z.strictObject({ name: objectName }))
      .max(16)
      .default([])
      .describe("Pull secrets of every pod."),
    operator,
    webhook,
    ledger,
    federation,
    tsa,
    tenants,
    bridge,
    networkPolicy: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            "Ingress NetworkPolicies for every pod (webhooks open to the apiserver; egress unrestricted).",
          ),
        metricsFrom: peers,
        ledgerFrom: peers,
      })
      .prefault({})
      .describe("NetworkPolicies."),
    metrics: z
      .strictObject({
        serviceMonitor: z
          .strictObject({
            enabled: z
              .boolean()
              .default(false)
              .describe("Create ServiceMonitors (Prometheus Operator)."),
            interval: duration.default("30s").describe("Scrape interval."),
            labels: z
              .record(z.string(), z.string().max(63))
              .default({})
              .describe("Extra labels (e.g. the Prometheus release selector)."),
          })
          .prefault({})
          .describe("ServiceMonitors for the operator, the webhooks and the ledger."),
        prometheusRule: z
          .strictObject({
            enabled: z
              .boolean()
              .default(false)
              .describe("Create a PrometheusRule with VaultMesh alerts."),
            labels: z
              .record(z.string(), z.string().max(63))
              .default({})
              .describe("Extra labels (e.g. the Prometheus rule selector)."),
          })
          .prefault({})
          .describe("Alerting rules."),
        grafanaDashboard: z
          .strictObject({
            enabled: z
              .boolean()
              .default(false)
              .describe(
                "Create a ConfigMap holding the VaultMesh KPI dashboard (Grafana sidecar).",
              ),
            namespace: z
              .string()
              .max(63)
              .default("")
              .describe("Namespace of the ConfigMap (empty: the release namespace)."),
            labels: z
              .record(z.string(), z.string().max(63))
              .default({ grafana_dashboard: "1" })
              .describe("Labels the Grafana dashboard sidecar selects ConfigMaps by."),
          })
          .prefault({})
          .describe("The Grafana dashboard."),
      })
      .prefault({})
      .describe("Prometheus Operator integration."),
  })
  .describe("Values of the VaultMesh chart.");

/** The chart's values after defaults. */
export type ChartValues = z.output<typeof ChartValuesSchema>;
