select count(*) as count from outcall_dnc where list = %(list)s
