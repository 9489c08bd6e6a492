update outcall_campaigns
set leads_fingerprint = coalesce(%(leads_fingerprint)s, leads_fingerprint),
    preflight_fingerprint = coalesce(%(preflight_fingerprint)s, preflight_fingerprint)
where id = %(campaign_id)s
