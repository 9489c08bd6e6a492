update outcall_import_reports
set finished_at = %(now)s, imported = %(imported)s, updated = %(updated)s,
    rejected = %(rejected)s, error = %(error)s
where id = %(report_id)s
