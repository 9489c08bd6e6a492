-- Put numbers on a do-not-call list; entries already there keep their source and added_at.
insert into outcall_dnc (phone_number, list, source, added_at)
select distinct n, %(list)s, %(source)s, %(now)s
from unnest(%(numbers)s::text[]) as n
on conflict (phone_number, list) do nothing
