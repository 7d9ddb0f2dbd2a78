-- Argo CD health of a vaultmesh.cloud GPUWorkload, from the operator's Routed, Running,
-- Complete, Failed and Ready conditions (operator/controllers/gpuworkload/gpuworkload-status.ts).
-- Like a Job: Progressing until it finishes, then Healthy (Complete) or Degraded (Failed). Only
-- the base library is used, so the script runs with resource.customizations.useOpenLibs false.
local function condition(status, type)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function explain(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

if obj.metadata.deletionTimestamp ~= nil then
  return { status = "Progressing", message = "being deleted" }
end
local s = obj.status
if s == nil or s.conditions == nil or #s.conditions == 0 then
  return { status = "Progressing", message = "waiting for the operator to report status" }
end
local generation = obj.metadata.generation
if generation ~= nil and s.observedGeneration ~= nil and s.observedGeneration < generation then
  return {
    status = "Progressing",
    message = "waiting for the operator to observe generation " .. generation
      .. " (status is of generation " .. s.observedGeneration .. ")",
  }
end

local ready = condition(s, "Ready")
local complete = condition(s, "Complete")
local failed = condition(s, "Failed")
local running = condition(s, "Running")
local routed = condition(s, "Routed")
if isTrue(complete) then
  return { status = "Healthy", message = explain(ready or complete) }
end
if isTrue(failed) then
  return { status = "Degraded", message = explain(ready or failed) }
end
if isTrue(running) then
  return { status = "Progressing", message = explain(running) }
end
if isTrue(routed) and running ~= nil then
  -- Placed under a treaty; the job has not started (Pending, Queued).
  return { status = "Progressing", message = explain(running) }
end
if routed ~= nil and routed.status == "False" then
  -- Waiting for an eligible treaty (NoTreaty, GpuTypeNotOffered, QuotaExhausted, …): routing
  -- is retried whenever treaties or quotas change.
  return { status = "Progressing", message = explain(routed) }
end
return { status = "Progressing", message = "waiting for the operator to route the workload" }
