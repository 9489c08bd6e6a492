select id, name, spec, status, leads_fingerprint, preflight_fingerprint, created_at, updated_at
from outcall_campaigns where name = %(name)s
