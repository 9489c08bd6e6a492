-- Give leads their callee clocks (creating the clocks the store does not know yet).
with known as (
    insert into outcall_callee_clocks (zones, states, source)
    select distinct zones, states, source
    from unnest(%(zones)s::text[], %(states)s::text[], %(sources)s::text[]) as u(zones, states, source)
    on conflict (zones, states, source) do nothing
)
update outcall_leads l
set callee_clock_id = k.id
from unnest(%(ids)s::bigint[], %(zones)s::text[], %(states)s::text[], %(sources)s::text[]) as u(id, zones, states, source)
join outcall_callee_clocks k on (k.zones, k.states, k.source) = (u.zones, u.states, u.source)
where l.id = u.id
