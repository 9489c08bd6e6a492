-- One page of leads, latest activity first: updated_at moves on every write to a lead (a
-- claim, a call recorded or judged, a person's change, an import). Keyset-paged on
-- (updated_at, id); `before_at` null starts at the top.
select id from outcall_leads
where campaign_id = %(campaign_id)s and status = any(%(statuses)s::text[])
  and (updated_at, id) < (coalesce(%(before_at)s::timestamptz, 'infinity'), %(before)s)
order by updated_at desc, id desc
limit %(limit)s
