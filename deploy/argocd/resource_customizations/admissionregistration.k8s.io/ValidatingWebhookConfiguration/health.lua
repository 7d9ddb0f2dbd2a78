-- Argo CD health of a webhook configuration: a VaultMesh one (app.kubernetes.io/name=vaultmesh)
-- is Progressing until every webhook that calls a Service has a CA bundle, which the webhook
-- server (managed certificates) or cert-manager's cainjector writes after the apply. Sync
-- wave 0 then holds the custom resources of wave 1 back until admission can reach the server.
-- Configurations of other products are Healthy, as they are without a health check. Only the
-- base library is used (resource.customizations.useOpenLibs false, Argo CD's default).
local labels = obj.metadata.labels
if labels == nil or labels["app.kubernetes.io/name"] ~= "vaultmesh" then
  return { status = "Healthy" }
end
for _, w in ipairs(obj.webhooks or {}) do
  local cc = w.clientConfig
  if cc ~= nil and cc.service ~= nil and (cc.caBundle == nil or cc.caBundle == "") then
    return {
      status = "Progressing",
      message = "waiting for the CA bundle of webhook " .. w.name
        .. " (injected by the webhook server, or by cert-manager's cainjector)",
    }
  end
end
return { status = "Healthy", message = "every webhook has a CA bundle" }
