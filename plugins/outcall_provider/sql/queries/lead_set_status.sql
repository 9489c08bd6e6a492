-- A person's decision on one lead: `created` calls it again from its first round, attempts
-- reset and Twilio's refusals forgotten; `completed` stops calling it. Either way a new cycle
-- begins, so the result of a call still in flight is recorded on its attempt but no longer
-- moves the lead, and a dialer holding the lead in its queue drops it (attempt_record).
-- `created` while any attempt of the lead is in flight is refused (changed = false): it would
-- start a second call to the same person while the first may still be talking. The attempts
-- decide, not the lead's status: after `completed` the lead's call of the old cycle still rings.
with target as (
    select l.id, l.status,
           exists (select 1 from outcall_attempts a
                   where a.lead_id = l.id and a.judged_at is null
                     and not outcall_call_ended(a.call_status)) as in_flight
    from outcall_leads l
    where l.campaign_id = %(campaign_id)s and l.id = %(lead_id)s
    for update of l
), changed as (
    update outcall_leads l
    set status = %(status)s,
        cycle = l.cycle + 1,
        round = case when %(status)s = {{LeadStatus.CREATED}} then 1 else l.round end,
        contact_index = case when %(status)s = {{LeadStatus.CREATED}} then 0 else l.contact_index end,
        due_at = case when %(status)s = {{LeadStatus.CREATED}} then %(now)s else l.due_at end,
        phone_invalid_reason = case when %(status)s = {{LeadStatus.CREATED}} then null else l.phone_invalid_reason end,
        claimed_at = null,
        updated_at = %(now)s
    from target
    where l.id = target.id
      and not ((target.in_flight or target.status = {{LeadStatus.PROCESSING}}) and %(status)s = {{LeadStatus.CREATED}})
    returning l.id, l.status
), contacts as (
    update outcall_contacts c set invalid_reason = null
    from changed
    where c.lead_id = changed.id and %(status)s = {{LeadStatus.CREATED}} and c.invalid_reason is not null
)
select target.id, coalesce(changed.status, target.status) as status, changed.id is not null as changed,
       target.status as previous_status
from target left join changed using (id)
