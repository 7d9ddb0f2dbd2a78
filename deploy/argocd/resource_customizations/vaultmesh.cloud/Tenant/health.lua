-- Argo CD health of a vaultmesh.cloud Tenant, from the operator's Ready condition and the
-- component conditions (operator/controllers/tenant/tenant-status.ts). Only the base library
-- is used, so the script runs with resource.customizations.useOpenLibs false (the default).
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

local s = obj.status
local ready = condition(s, "Ready")
if obj.metadata.deletionTimestamp ~= nil then
  -- The finalizer tears the stack down step by step; Ready names the step in progress.
  if ready ~= nil and ready.reason == "Deleting" and (ready.message or "") ~= "" then
    return { status = "Progressing", message = "being deleted: " .. ready.message }
  end
  return { status = "Progressing", message = "being deleted" }
end
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

if ready == nil or ready.status == "Unknown" then
  return { status = "Progressing", message = "waiting for the Ready condition" }
end
if ready.status == "True" then
  return { status = "Healthy", message = explain(ready) }
end
-- Suspended: spec.suspended (reason Suspended) or a failed payment (reason PaymentFailed).
if ready.reason == "Suspended" or ready.reason == "PaymentFailed" then
  return { status = "Suspended", message = explain(ready) }
end
if ready.reason == "Deleting" then
  return { status = "Progressing", message = explain(ready) }
end
if ready.reason == "ComponentsNotReady" then
  -- A component that failed (False) needs attention; one still waiting (Unknown, or not
  -- reconciled yet) is on its way.
  for _, c in ipairs(s.conditions) do
    if c.type ~= "Ready" and c.status == "False" then
      return { status = "Degraded", message = explain(ready) }
    end
  end
  return { status = "Progressing", message = explain(ready) }
end
return { status = "Degraded", message = explain(ready) }
