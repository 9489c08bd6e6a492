-- A sample of the leads in one preview group, in dial order.
select l.id, l.external_id, l.phone_number, l.status, l.round, l.contact_index, l.due_at,
       coalesce(c.phone_number, l.phone_number) as contact_phone
from outcall_leads l
left join outcall_contacts c on c.lead_id = l.id and c.position = l.contact_index
where l.campaign_id = %(campaign_id)s
  and case when %(group)s = 'due' then l.status in {{WAITING_LEAD_STATUSES}} and l.due_at <= %(at)s
           when %(group)s = 'waiting' then l.status in {{WAITING_LEAD_STATUSES}} and l.due_at > %(at)s
           else l.status = %(group)s end
order by l.due_at, l.id
limit %(limit)s
