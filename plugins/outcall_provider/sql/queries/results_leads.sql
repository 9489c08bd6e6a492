-- A campaign's leads for the results table, in id order. With `snapshot` (the
-- last export's): only leads written by a transaction that export could not see, i.e. changed
-- since (the index on change_xid narrows, the visibility test decides). With `since`: only
-- leads updated at or after it (the export command's filter). Phone numbers are in full: this
-- goes to the campaign owner's own warehouse or file, never to a log.
select l.id as lead_id, l.external_id, l.phone_number, l.status,
       (select count(*) from outcall_attempts n where n.lead_id = l.id and n.call_sid is not null) as attempts,
       l.last_outcome, l.goal_met,
       (select coalesce(a.variables, '{}') || coalesce(a.late_variables, '{}')
        from outcall_attempts a
        where a.lead_id = l.id and a.judged_at is not null
        order by a.judged_at desc, a.id desc limit 1) as variables,
       l.updated_at
from outcall_leads l
where l.campaign_id = %(campaign_id)s
  and (%(snapshot)s::pg_snapshot is null
       or (l.change_xid >= pg_snapshot_xmin(%(snapshot)s::pg_snapshot)
           and not pg_visible_in_snapshot(l.change_xid, %(snapshot)s::pg_snapshot)))
  and (%(since)s::timestamptz is null or l.updated_at >= %(since)s)
order by l.id
