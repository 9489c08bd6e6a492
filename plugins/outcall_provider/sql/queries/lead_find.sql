-- A lead named on the command line: by id, else by external_id, else by phone number.
select id from outcall_leads
where campaign_id = %(campaign_id)s
  and (id::text = %(ref)s or external_id = %(ref)s or phone_number = %(ref)s)
order by (id::text = %(ref)s) desc, (external_id = %(ref)s) desc
limit 1
