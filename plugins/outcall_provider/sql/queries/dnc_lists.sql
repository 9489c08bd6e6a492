-- Every do-not-call list of the store with its size.
select list, count(*) as numbers, max(added_at) as last_added_at
from outcall_dnc
group by list
order by list
