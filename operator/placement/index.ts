// Placement on the cluster's own GPU pool (operator/placement): the pure Job builder, the Job
// observer and usage arithmetic the GPUWorkload controller uses. Import from here.
export {
  buildJob,
  type JobManifest,
  jobLabels,
  jobName,
  trimToLabel,
  JOB_ANNOTATIONS,
  JOB_LABELS,
  MAX_JOB_NAME_LENGTH,
  WORKLOAD_CONTAINER,
  type BuildableTreaty,
  type BuildableWorkload,
  type BuildJobOptions,
} from "./job-builder.ts";
export {
  jobFinished,
  observeJob,
  rfc3339,
  type JobObservation,
  type JobState,
  type ObservedCondition,
  type ObservedJob,
  type ObservedPod,
  type Time,
} from "./job-observer.ts";
export { usageOf, type Usage } from "./usage.ts";
