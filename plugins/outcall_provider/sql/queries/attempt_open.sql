-- Attempts with a call whose result is not judged yet, with the assistant's variables.
-- contact_count is the lead's now (a re-import may have removed contacts since the dial).
select a.id, a.lead_id, a.cycle, a.round, a.contact_index, a.call_sid, a.call_status,
       a.to_number, a.from_number, a.started_at, a.answered_by, a.ended_at, a.record_read_at,
       v.variables, v.received_at as variables_received_at, l.contact_count
from outcall_attempts a
join outcall_leads l on l.id = a.lead_id
left join outcall_call_variables v on v.call_sid = a.call_sid
where a.campaign_id = %(campaign_id)s and a.judged_at is null and a.call_sid is not null
order by a.id
