-- The callee clocks the store does not know yet (a handful per page of leads).
insert into outcall_callee_clocks (zones, states, source)
select distinct zones, states, source
from unnest(%(zones)s::text[], %(states)s::text[], %(sources)s::text[]) as u(zones, states, source)
on conflict (zones, states, source) do nothing
