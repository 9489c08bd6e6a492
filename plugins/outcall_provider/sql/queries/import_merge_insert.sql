insert into outcall_leads (campaign_id, external_id, phone_number, contact_count, variables, due_at,
                           import_id, source_line, created_at, updated_at, callee_clock_id, consent_at)
select %(campaign_id)s, r.external_id, r.phone, 1 + cardinality(r.secondaries), r.variables, %(now)s,
       %(report_id)s, r.line, %(now)s, %(now)s, k.id, r.consent_at
from outcall_resolved r
join outcall_callee_clocks k on (k.zones, k.states, k.source) = (r.zones, r.states, r.zone_source)
where r.reason_taken is null and r.target_id is null
order by r.line
