-- Give leads their callee clocks (callee_clocks_add made any the store lacked).
update outcall_leads l
set callee_clock_id = k.id
from unnest(%(ids)s::bigint[], %(zones)s::text[], %(states)s::text[], %(sources)s::text[]) as u(id, zones, states, source)
join outcall_callee_clocks k on (k.zones, k.states, k.source) = (u.zones, u.states, u.source)
where l.id = u.id
