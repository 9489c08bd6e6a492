-- The lists one number is on.
select list, source, added_at
from outcall_dnc
where phone_number = %(phone_number)s
order by added_at, list
