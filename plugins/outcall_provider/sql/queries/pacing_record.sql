update outcall_pacing set recent_sends = %(recent_sends)s where account_sid = %(account_sid)s
