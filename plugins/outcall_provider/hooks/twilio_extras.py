"""Defaults of the Twilio connection's extras: TwilioHook reads them, the connection form
(provider_info.py) shows them. A module of its own, importing nothing, because Airflow reads
the provider info while it is still starting up: importing hooks/twilio.py (which imports
Airflow) from there would be circular."""

DEFAULT_BASE_URL = "https://api.twilio.com"
DEFAULT_CALLS_PER_SECOND = 1.0
DEFAULT_MIN_BALANCE = 1.00   # the preflight's floor, in the account's currency
HTTP_TIMEOUT_S = 15          # seconds for one REST request
