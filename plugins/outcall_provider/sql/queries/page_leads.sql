-- One page of leads, newest first, for any set of statuses: walks outcall_leads_page once
-- per status and keeps the top `limit`, so it reads at most limit × statuses index entries
-- whatever the campaign's size. `before` is the keyset cursor (the last id of the previous page).
select p.id
from unnest(%(statuses)s::text[]) as s(status)
cross join lateral (
    select id from outcall_leads
    where campaign_id = %(campaign_id)s and status = s.status and id < %(before)s
    order by id desc
    limit %(limit)s
) p
order by p.id desc
limit %(limit)s
