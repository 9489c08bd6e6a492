-- When every call to one number since a moment was placed (or is being placed), by any
-- campaign of the store: the frequency caps. Run under the number's lock.
select array_agg(started_at order by started_at) as calls
from outcall_attempts
where to_number = %(to_number)s and started_at > %(since)s
  and not (call_sid is null and call_status = {{CallStatus.FAILED}})
