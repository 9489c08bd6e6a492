-- Leads without a callee clock (imported before clocks existed), in id order, a page at a time.
select l.id, l.phone_number, l.variables,
       array(select c.phone_number from outcall_contacts c where c.lead_id = l.id order by c.position) as secondaries
from outcall_leads l
where l.campaign_id = %(campaign_id)s and l.callee_clock_id is null and l.id > %(after)s
order by l.id
limit %(limit)s
