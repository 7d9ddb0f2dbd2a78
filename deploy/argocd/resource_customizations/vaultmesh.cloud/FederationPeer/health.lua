-- Argo CD health of a vaultmesh.cloud FederationPeer, from its Reachable, Consistent, Synced
-- and Ready conditions (crds/federationpeer.ts). Only the base library is used, so the script
-- runs with resource.customizations.useOpenLibs false (Argo CD's default).
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
if obj.spec ~= nil and obj.spec.suspended == true then
  return {
    status = "Suspended",
    message = "spec.suspended is true: syncing with the peer is stopped",
  }
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
if ready ~= nil and ready.status == "True" then
  return { status = "Healthy", message = explain(ready) }
end
-- The first link that broke: a peer whose log does not extend what we saw before (a split
-- view) is the most serious, then one that does not answer, then a failed sync.
for _, type in ipairs({ "Consistent", "Reachable", "Synced" }) do
  local c = condition(s, type)
  if c ~= nil and c.status == "False" then
    return { status = "Degraded", message = type .. " is False: " .. explain(c) }
  end
end
if ready ~= nil and ready.status == "False" then
  return { status = "Degraded", message = explain(ready) }
end
return { status = "Progressing", message = "waiting for the first sync with the peer" }
