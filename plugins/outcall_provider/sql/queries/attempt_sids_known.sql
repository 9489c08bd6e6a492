select call_sid from outcall_attempts where call_sid = any(%(sids)s)
