-- Rows rejected (R) or kept with a dropped value (W) while reading; values are masked already.
insert into outcall_import_rejects (report_id, line, field, value, reason, skipped_row)
select %(report_id)s, line, field, value, reason, kind = 'R'
from outcall_stage
where kind in ('R', 'W')
