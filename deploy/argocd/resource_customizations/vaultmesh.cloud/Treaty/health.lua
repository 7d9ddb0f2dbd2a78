-- Argo CD health of a vaultmesh.cloud Treaty, from the operator's Ready condition
-- (operator/controllers/treaty/treaty-status.ts). Only the base library is used, so the
-- script runs with resource.customizations.useOpenLibs false (Argo CD's default).
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
if ready == nil or ready.status == "Unknown" then
  return { status = "Progressing", message = "waiting for the Ready condition" }
end
if ready.status == "True" then
  return { status = "Healthy", message = explain(ready) }
end
-- Not in force by design (spec.suspended, or before spec.effectiveDate): nothing to repair.
if ready.reason == "Suspended" or ready.reason == "NotYetEffective" then
  return { status = "Suspended", message = explain(ready) }
end
-- Expired, Degraded (SLO, reputation, unreachable), EndpointMissing, CredentialsMissing and
-- any reason added later: the treaty cannot be routed to until someone acts.
return { status = "Degraded", message = explain(ready) }
