-- The callee said not to be called again: their number joins the `opt-out` list, for every
-- campaign of the store.
insert into outcall_dnc (phone_number, list, source, added_at)
select a.to_number, 'opt-out', 'call ' || coalesce(a.call_sid, '(no SID)') || ' of campaign ' || c.name, %(now)s
from outcall_attempts a
join outcall_campaigns c on c.id = a.campaign_id
where a.id = %(attempt_id)s
on conflict (phone_number, list) do nothing
