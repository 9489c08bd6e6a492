-- One import per campaign at a time (the tick's sync, an upload, the CLI, a lead added by hand):
-- held until the import's transaction ends, so concurrent imports wait instead of racing.
select pg_advisory_xact_lock(%(lock)s, %(campaign_id)s::int)
