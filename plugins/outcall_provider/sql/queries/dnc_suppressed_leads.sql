-- Leads of every campaign of the store, not yet done, that a list suppresses: their own number
-- (contact 0) or one of their secondary contacts is on it.
select count(*) as count from (
    select l.id
    from outcall_dnc d
    join outcall_leads l on l.phone_number = d.phone_number
    where d.list = %(list)s and l.status not in {{TERMINAL_LEAD_STATUSES}}
    union
    select l.id
    from outcall_dnc d
    join outcall_contacts c on c.phone_number = d.phone_number
    join outcall_leads l on l.id = c.lead_id
    where d.list = %(list)s and l.status not in {{TERMINAL_LEAD_STATUSES}}
) suppressed
