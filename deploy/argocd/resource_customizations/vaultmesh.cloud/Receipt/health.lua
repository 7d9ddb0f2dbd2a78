-- Argo CD health of a vaultmesh.cloud Receipt, from the Logged, Timestamped and Verified
-- conditions (operator/controllers/receipt/receipt-status.ts). Only the base library is used,
-- so the script runs with resource.customizations.useOpenLibs false (Argo CD's default).
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

local verified = condition(s, "Verified")
if verified == nil or verified.status == "Unknown" then
  -- The GPUWorkload controller writes Logged when it appends the receipt; the Receipt
  -- controller then verifies it against the ledger.
  local logged = condition(s, "Logged")
  if logged ~= nil and logged.status == "True" then
    return {
      status = "Progressing",
      message = explain(logged) .. "; waiting for the Receipt controller to verify it",
    }
  end
  return { status = "Progressing", message = "waiting for the Receipt controller to verify it" }
end
if verified.status ~= "True" then
  return { status = "Degraded", message = explain(verified) }
end
local stamped = condition(s, "Timestamped")
if stamped == nil or stamped.status == "True" then
  return { status = "Healthy", message = explain(verified) }
end
if stamped.reason == "Pending" then
  -- A tree head covering the receipt will be time-stamped at the ledger's next publication.
  return { status = "Progressing", message = explain(stamped) }
end
-- Proven, but no RFC 3161 token will come (e.g. NoTimestampAuthority): the receipt is sound,
-- the deployment has no timestamp authority.
return {
  status = "Healthy",
  message = explain(verified) .. "; not time-stamped (" .. stamped.reason .. ")",
}
