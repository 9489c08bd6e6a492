select pg_advisory_unlock(%(lock)s::int, hashtext(%(campaign_id)s::text || '/' || %(target)s))
