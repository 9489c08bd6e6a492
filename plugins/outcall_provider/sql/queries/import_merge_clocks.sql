-- The callee clocks this block names that the store does not know yet (a handful per import).
insert into outcall_callee_clocks (zones, states, source)
select distinct r.zones, r.states, r.zone_source
from outcall_resolved r
where r.reason_taken is null
on conflict (zones, states, source) do nothing
