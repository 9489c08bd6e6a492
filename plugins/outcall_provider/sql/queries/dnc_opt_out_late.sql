-- An opt-out that arrived after its call was judged: the number joins the `opt-out` list and
-- the lead is completed unless a call of it is in flight or it is done already.
with attempt as (
    select a.id, a.lead_id, a.cycle, a.to_number, a.call_sid, c.name
    from outcall_attempts a join outcall_campaigns c on c.id = a.campaign_id
    where a.call_sid = %(call_sid)s
), listed as (
    insert into outcall_dnc (phone_number, list, source, added_at)
    select to_number, 'opt-out', 'call ' || call_sid || ' of campaign ' || name, %(now)s from attempt
    on conflict (phone_number, list) do nothing
)
update outcall_leads l
set status = {{LeadStatus.COMPLETED}}, last_outcome = 'opted_out', claimed_at = null, updated_at = %(now)s
from attempt
where l.id = attempt.lead_id and l.cycle = attempt.cycle
  and l.status in ({{LeadStatus.CREATED}}, {{LeadStatus.RESCHEDULED}}, {{LeadStatus.SCHEDULED}})
