-- A sync: the list's numbers that its source no longer has leave the list (this list only).
delete from outcall_dnc d
where d.list = %(list)s
  and not exists (select 1 from outcall_dnc_stage s where s.phone_number = d.phone_number)
