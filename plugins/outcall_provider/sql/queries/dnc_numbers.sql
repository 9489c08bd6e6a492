-- How many distinct numbers are suppressed (on any list).
select count(distinct phone_number) as count from outcall_dnc
