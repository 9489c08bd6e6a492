-- The leads table rows for a page of ids: each lead with its secondary contacts, how many
-- attempts it has had, its last call, and when it is next called (due_at, for a lead waiting
-- for its call; none while a call is planned or in flight, or when it is done).
select l.id, l.external_id, l.phone_number, l.phone_invalid_reason, l.status, l.cycle, l.round,
       l.contact_index, l.contact_count, l.due_at, l.goal_met, l.last_outcome, l.variables,
       l.updated_at, case when l.status in {{WAITING_LEAD_STATUSES}} then l.due_at end as next_due_at,
       coalesce(c.contacts, '[]') as contacts, a.attempts, a.last_call
from outcall_leads l
left join lateral (
    select jsonb_agg(jsonb_build_object('position', position, 'phone_number', phone_number,
                                        'invalid_reason', invalid_reason) order by position) as contacts
    from outcall_contacts where lead_id = l.id) c on true
left join lateral (
    select count(*) as attempts,
           (array_agg(jsonb_build_object('call_status', call_status, 'answered_by', answered_by,
                                         'outcome', outcome_reason, 'started_at', started_at,
                                         'to_number', to_number) order by id desc))[1] as last_call
    from outcall_attempts where lead_id = l.id) a on true
where l.id = any(%(ids)s::bigint[]) and l.campaign_id = %(campaign_id)s
order by l.id desc
