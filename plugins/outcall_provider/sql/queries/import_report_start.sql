insert into outcall_import_reports (campaign_id, source, started_at)
values (%(campaign_id)s, %(source)s, %(now)s)
returning id
