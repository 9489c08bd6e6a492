insert into outcall_leads (campaign_id, external_id, phone_number, contact_count, variables, due_at,
                           import_id, source_line, created_at, updated_at)
select %(campaign_id)s, r.external_id, r.phone, 1 + cardinality(r.secondaries), r.variables, %(now)s,
       %(report_id)s, r.line, %(now)s, %(now)s
from outcall_resolved r
where r.reason_taken is null and r.target_id is null
order by r.line
