insert into outcall_import_rejects (report_id, line, field, value, reason, skipped_row)
select %(report_id)s, line, field, value, reason, kind = 'R'
from outcall_stage
where kind in ('R', 'W')
union all
select %(report_id)s, line, case when reason_taken like 'duplicate%%' and external_id is not null
                                 then 'external_id' else 'phone_number' end,
       coalesce(external_id, phone), reason_taken, true
from outcall_resolved
where reason_taken is not null
