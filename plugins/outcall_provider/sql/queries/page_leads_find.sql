-- Leads matching a search: the exact primary phone (E.164), external_id or lead id, each an
-- index lookup.
select id from (
    select id, status from outcall_leads where campaign_id = %(campaign_id)s and phone_number = %(phone)s
    union
    select id, status from outcall_leads where campaign_id = %(campaign_id)s and external_id = %(text)s
    union
    select id, status from outcall_leads where campaign_id = %(campaign_id)s and id = %(lead_id)s
) found
where status = any(%(statuses)s::text[]) and id < %(before)s
order by id desc
limit %(limit)s
