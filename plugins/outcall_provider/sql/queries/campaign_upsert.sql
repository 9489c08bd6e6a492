insert into outcall_campaigns (name, spec, created_at, updated_at)
values (%(name)s, %(spec)s, %(now)s, %(now)s)
on conflict (name) do update set spec = excluded.spec, updated_at = excluded.updated_at
returning id
