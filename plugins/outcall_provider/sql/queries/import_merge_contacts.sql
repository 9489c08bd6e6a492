-- Secondary contacts 1..10 in column order. A contact whose number is unchanged keeps its
-- invalid mark if the mark names a number-specific Twilio code; contacts a re-import no longer
-- lists are removed.
with taken as (
    select l.id as lead_id, r.secondaries
    from outcall_resolved r
    join outcall_leads l on l.campaign_id = %(campaign_id)s and l.phone_number = r.phone
    where r.reason_taken is null and (cardinality(r.secondaries) > 0 or r.target_id is not null)
), upserted as (
    insert into outcall_contacts (lead_id, position, phone_number)
    select t.lead_id, u.position::int, u.phone
    from taken t
    cross join lateral unnest(t.secondaries) with ordinality as u(phone, position)
    on conflict (lead_id, position) do update
        set phone_number = excluded.phone_number,
            invalid_reason = case when outcall_contacts.phone_number = excluded.phone_number
                                       and substring(outcall_contacts.invalid_reason from 'Twilio (\d+)')
                                           = any(%(number_error_codes)s::text[])
                                  then outcall_contacts.invalid_reason end
    returning 1
)
delete from outcall_contacts c
using taken t
where c.lead_id = t.lead_id and c.position > cardinality(t.secondaries)
