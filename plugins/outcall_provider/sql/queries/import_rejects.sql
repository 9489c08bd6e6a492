select line, field, value, reason, skipped_row
from outcall_import_rejects
where report_id = %(report_id)s
order by line, skipped_row desc
limit %(limit)s
