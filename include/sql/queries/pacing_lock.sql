-- Serialises the dialers of one Twilio account while one of them decides when to send.
select recent_sends from outcall_pacing where account_sid = %(account_sid)s for update
