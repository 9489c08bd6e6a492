-- Add the staged numbers to the list; numbers already on it keep their source and added_at.
insert into outcall_dnc (phone_number, list, source, added_at)
select distinct s.phone_number, %(list)s, %(source)s, %(now)s
from outcall_dnc_stage s
on conflict (phone_number, list) do nothing
