"""outcall: outbound phone-call campaigns over Twilio, run by Apache Airflow."""

# The one place the version is written: pyproject.toml and provider_info.py read it.
__version__ = "0.1.0"
