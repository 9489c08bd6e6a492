select id, name, spec, status, created_at, updated_at from outcall_campaigns where name = %(name)s
