/**
 * The parts of the Pod API the install test's pod runner reads (core/v1 field names). Only what
 * the runner acts on is typed; everything else on a Pod passes through untouched.
 */

/** A reference to one key of a Secret or ConfigMap. */
export interface KeySelector {
  readonly name: string;
  readonly key: string;
  readonly optional?: boolean;
}

/** One environment variable of a container. */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    readonly fieldRef?: { readonly fieldPath: string };
    readonly resourceFieldRef?: {
      readonly resource: string;
      readonly divisor?: string | number;
      readonly containerName?: string;
    };
    readonly secretKeyRef?: KeySelector;
    readonly configMapKeyRef?: KeySelector;
  };
}

/** A whole Secret or ConfigMap as environment variables. */
export interface EnvFromSource {
  readonly prefix?: string;
  readonly secretRef?: { readonly name: string; readonly optional?: boolean };
  readonly configMapRef?: { readonly name: string; readonly optional?: boolean };
}

/** Pod- and container-level security settings the runner enforces. */
export interface SecurityContext {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly runAsNonRoot?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly privileged?: boolean;
  readonly supplementalGroups?: readonly number[];
  readonly fsGroup?: number;
  readonly capabilities?: { readonly add?: readonly string[]; readonly drop?: readonly string[] };
}

/** An HTTP probe (readiness, liveness, startup). */
export interface HttpProbe {
  readonly httpGet?: {
    readonly path?: string;
    readonly port: number | string;
    readonly scheme?: "HTTP" | "HTTPS";
  };
  readonly periodSeconds?: number;
}

/** Where a volume appears in a container. */
export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly?: boolean;
  readonly subPath?: string;
}

/** A container of a Pod. */
export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly workingDir?: string;
  readonly env?: readonly EnvVar[];
  readonly envFrom?: readonly EnvFromSource[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly volumeMounts?: readonly VolumeMount[];
  readonly securityContext?: SecurityContext;
  readonly readinessProbe?: HttpProbe;
  readonly resources?: {
    readonly limits?: Readonly<Record<string, string | number>>;
    readonly requests?: Readonly<Record<string, string | number>>;
  };
}

/** One key of a Secret/ConfigMap projected to a file. */
export interface KeyToPath {
  readonly key: string;
  readonly path: string;
  readonly mode?: number;
}

/** A downward API file. */
export interface DownwardApiFile {
  readonly path: string;
  readonly fieldRef?: { readonly fieldPath: string };
  readonly mode?: number;
}

/** A source of a projected volume. */
export interface ProjectionSource {
  readonly secret?: {
    readonly name: string;
    readonly items?: readonly KeyToPath[];
    readonly optional?: boolean;
  };
  readonly configMap?: {
    readonly name: string;
    readonly items?: readonly KeyToPath[];
    readonly optional?: boolean;
  };
  readonly downwardAPI?: { readonly items?: readonly DownwardApiFile[] };
  readonly serviceAccountToken?: {
    readonly path: string;
    readonly audience?: string;
    readonly expirationSeconds?: number;
  };
}

/** A volume of a Pod (the kinds the runner supports). */
export interface Volume {
  readonly name: string;
  readonly secret?: {
    readonly secretName: string;
    readonly items?: readonly KeyToPath[];
    readonly defaultMode?: number;
    readonly optional?: boolean;
  };
  readonly configMap?: {
    readonly name: string;
    readonly items?: readonly KeyToPath[];
    readonly defaultMode?: number;
    readonly optional?: boolean;
  };
  readonly projected?: {
    readonly sources: readonly ProjectionSource[];
    readonly defaultMode?: number;
  };
  readonly downwardAPI?: {
    readonly items?: readonly DownwardApiFile[];
    readonly defaultMode?: number;
  };
  readonly emptyDir?: { readonly medium?: string; readonly sizeLimit?: string };
}

/** A Pod as the API serves it. */
export interface Pod {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly deletionTimestamp?: string;
    readonly ownerReferences?: readonly { readonly kind: string; readonly name: string }[];
  };
  readonly spec: {
    readonly containers: readonly Container[];
    readonly initContainers?: readonly Container[];
    readonly volumes?: readonly Volume[];
    readonly serviceAccountName?: string;
    readonly automountServiceAccountToken?: boolean;
    readonly nodeName?: string;
    readonly hostname?: string;
    readonly securityContext?: SecurityContext;
    readonly terminationGracePeriodSeconds?: number;
  };
  readonly status?: {
    readonly phase?: string;
    readonly podIP?: string;
    readonly hostIP?: string;
  };
}

/** The parts of an OCI image configuration that decide how a container starts. */
export interface ImageConfig {
  readonly user?: string;
  readonly env: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly workingDir?: string;
}
