-- Our own rules (loaded by rspamd's rules/rspamd.lua from /etc/rspamd/rspamd.local.lua).
--
-- 1. Submission: the header From of a message from an authenticated user must be the envelope sender,
--    which Postfix has already checked against the login (reject_sender_login_mismatch: own address,
--    aliases, group addresses; service accounts their one address). Anything else is refused with a
--    5xx before DKIM signing, so our key never signs a forged header From.
-- 2. Inbound: a message from outside whose header From is one of our domains, without a valid DKIM
--    signature of that domain, fails DMARC by construction (our SPF allows only our MX, where our users
--    authenticate): it gets the action of our DMARC policy (MAIL_DMARC_POLICY) without waiting for DNS.

local rspamd_logger = require "rspamd_logger"

local own_domains = {}
for domain in string.gmatch(os.getenv("MAIL_DOMAINS") or "", "%S+") do
  own_domains[domain:lower()] = true
end
local dmarc_policy = os.getenv("MAIL_DMARC_POLICY") or "quarantine"

local function header_from(task)
  return task:get_from("mime") or {}
end

-- 3. Sieve: redirects and vacation replies come from Dovecot through Postfix's Sieve listener, which tells
--    its milter daemon name, "sieve" (rspamd passes it as the MTA-Name request header; MTA-Tag in older
--    versions). A vacation reply, whose header From is the member who is also its envelope sender (Dovecot
--    sends it from the recipient), is the member's own mail: it counts as theirs, so it is DKIM-signed
--    and not taken for a forgery of our domain. A redirect keeps its original From and is left alone.
local function from_sieve_listener(task)
  for _, name in ipairs({ "MTA-Name", "MTA-Tag" }) do
    local value = task:get_request_header(name)
    if value and tostring(value) == "sieve" then return true end
  end
  return false
end

rspamd_config:register_symbol({
  name = "ASSO_SIEVE_OWN_REPLY",
  type = "prefilter",
  priority = 20,
  description = "Vacation reply of a member, sent by Dovecot from the member's address",
  callback = function(task)
    if task:get_user() or not from_sieve_listener(task) then return end
    local envelope = task:get_from("smtp")
    local sender = envelope and envelope[1] and envelope[1].addr and envelope[1].addr:lower() or ""
    local from = header_from(task)
    if sender ~= "" and #from == 1 and (from[1].addr or ""):lower() == sender then
      task:set_user(sender)
      task:insert_result("ASSO_SIEVE_OWN_REPLY", 1.0, sender)
    end
  end,
})

rspamd_config:register_symbol({
  name = "ASSO_AUTH_FROM_MISMATCH",
  type = "prefilter",
  priority = 10,
  description = "Authenticated sender whose header From is not the envelope sender it owns",
  callback = function(task)
    local user = task:get_user()
    if not user then return end
    local envelope = task:get_from("smtp")
    local sender = envelope and envelope[1] and envelope[1].addr and envelope[1].addr:lower() or ""
    local from = header_from(task)
    local reason
    if #from ~= 1 then
      reason = string.format("exactly one header From address is required (found %d)", #from)
    elseif sender == "" or (from[1].addr or ""):lower() ~= sender then
      reason = string.format("header From <%s> is not owned by user %s (it must be the envelope sender <%s>)",
        from[1].addr or "", user, sender)
    end
    if reason then
      rspamd_logger.infox(task, "refusing forged header From: %s", reason)
      task:insert_result("ASSO_AUTH_FROM_MISMATCH", 1.0, user)
      task:set_pre_result("reject", "5.7.1 " .. reason, "asso_from")
    end
  end,
})

rspamd_config:register_symbol({
  name = "ASSO_OWN_DOMAIN_FORGED",
  type = "normal",
  score = 0.0,
  description = "Unauthenticated mail with a header From of our own domain and no valid DKIM signature of it",
  callback = function(task)
    if task:get_user() then return end
    local from = header_from(task)
    local forged
    for _, address in ipairs(from) do
      local domain = (address.domain or ""):lower()
      if own_domains[domain] then forged = domain end
    end
    if not forged then return end
    local signed = task:get_symbol("R_DKIM_ALLOW")
    if signed then
      for _, symbol in ipairs(signed) do
        for _, option in ipairs(symbol.options or {}) do
          if option:lower():match("^([^:]+)") == forged then return end
        end
      end
    end
    task:insert_result("ASSO_OWN_DOMAIN_FORGED", 1.0, forged)
    if dmarc_policy == "reject" then
      task:set_pre_result("reject", "5.7.1 DMARC policy of " .. forged .. " rejects this message: its From is forged", "asso_dmarc")
    elseif dmarc_policy == "quarantine" then
      task:set_pre_result("add header", "DMARC quarantine: forged From of " .. forged, "asso_dmarc")
    end
  end,
})
rspamd_config:register_dependency("ASSO_OWN_DOMAIN_FORGED", "DKIM_CHECK")
