-- Serialises the dialers of one Twilio account while one of them decides when to send, and
-- reads the database's clock only once the row lock is held (the CTE locks the row before the
-- outer select evaluates clock_timestamp()): every host judges the window on this one clock.
with locked as materialized (
    select recent_sends from outcall_pacing where account_sid = %(account_sid)s for update
)
select recent_sends, clock_timestamp() as now from locked
