select id, source, started_at, finished_at, imported, updated, rejected, error
from outcall_import_reports
where id = %(report_id)s and campaign_id = %(campaign_id)s
