-- One import or sync of a list at a time (held until the transaction ends).
select pg_advisory_xact_lock(%(lock)s, hashtext(%(list)s))
