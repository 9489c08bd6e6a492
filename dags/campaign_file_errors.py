"""Airflow import errors for invalid campaign files, each naming the file, the key and what
is allowed. Kept apart from campaigns.py so one broken file never hides the valid DAGs."""
from outcall_provider.dag_factory import file_errors

_errors = file_errors()
if _errors:
    raise ValueError("invalid campaign files:\n" + "\n".join(str(e) for e in _errors))
