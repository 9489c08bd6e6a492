-- The account's pacing row, created on its first send ever.
insert into outcall_pacing (account_sid) values (%(account_sid)s) on conflict (account_sid) do nothing
