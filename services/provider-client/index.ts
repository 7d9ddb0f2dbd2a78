// Client side of the VaultMesh provider protocol v1 (docs/provider-protocol.md): wire schemas,
// the typed client and the request builder. Import from here.
export { jobRequestFrom, WORKLOAD_UID_LABEL, type SecretResolver } from "./job-request.ts";
export {
  ERRORS,
  ErrorBodySchema,
  HealthSchema,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_PATTERN,
  idempotencyKeyFor,
  isTerminal,
  JOB_STATES,
  JobRequestSchema,
  PROTOCOL_PREFIX,
  ProviderJobSchema,
  type ErrorBody,
  type ErrorCode,
  type Health,
  type JobRequest,
  type JobState,
  type ProviderJob,
} from "./protocol.ts";
export {
  ProviderClient,
  ProviderError,
  type PingResult,
  type ProviderClientOptions,
  type ProviderErrorDetails,
  type SubmitResult,
} from "./provider-client.ts";
