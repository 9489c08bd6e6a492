-- One more look at a judged call's price (found or not).
update outcall_attempts
set price = coalesce(%(price)s, price), price_unit = coalesce(%(price_unit)s, price_unit),
    price_checks = price_checks + 1, price_checked_at = %(now)s
where id = %(attempt_id)s
