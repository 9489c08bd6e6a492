-- One export per campaign and destination at a time. A session lock, taken before the export's
-- REPEATABLE READ transaction starts: that transaction's snapshot must be taken after the
-- previous export committed, or it would not see the watermark that export saved.
select pg_advisory_lock(%(lock)s::int, hashtext(%(campaign_id)s::text || '/' || %(target)s))
