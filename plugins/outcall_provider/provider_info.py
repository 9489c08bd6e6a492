"""Provider metadata read by Airflow through the `apache_airflow_provider` entry point."""
from outcall_provider import __version__  # the package's __init__ imports nothing


def get_provider_info() -> dict:
    return {
        "package-name": "airflow-provider-outcall",
        "name": "outcall",
        "description": "Outbound phone-call campaigns for an AI voice assistant over Twilio.",
        "versions": [__version__],
        # Airflow (3.2+) builds the connection form from each connection type's `conn-fields`
        # (the extras) and `ui-field-behaviour` (the standard fields), without importing the hook.
        "connection-types": [
            {"connection-type": "twilio", "hook-class-name": "outcall_provider.hooks.twilio.TwilioHook",
             "hook-name": "Twilio",
             "conn-fields": _twilio_conn_fields(),
             # Twilio uses no host, schema or port (base_url says where). Port stays in the form
             # because Airflow 3.3.2's Test button refuses a connection without one (fixed
             # upstream in apache/airflow#73298): 443 works and is otherwise ignored.
             "ui-field-behaviour": {
                 "hidden-fields": ["host", "schema"],
                 "relabeling": {"login": "Account SID", "password": "Auth Token"},
                 "placeholders": {"login": "AC…", "port": "443"},
             }},
        ],
        # No "plugins" here: the `airflow.plugins` entry point registers the plugin in every mode
        # (provider-info plugins load only with lazy_discover_providers off, and then twice).
    }


def _twilio_conn_fields() -> dict:
    """Every extra TwilioHook reads, with the hook's own defaults (one place for them)."""
    from outcall_provider.hooks import twilio_extras as extras  # imports nothing: safe while Airflow starts

    return {
        "base_url": {
            "label": "API base URL",
            "schema": {"type": ["string", "null"], "default": extras.DEFAULT_BASE_URL},
            "description": "Twilio REST API base; any Twilio-compatible server works.",
        },
        "calls_per_second": {
            "label": "Calls per second",
            "schema": {"type": ["number", "null"], "default": extras.DEFAULT_CALLS_PER_SECOND, "minimum": 0.1},
            "description": "The account's outbound calls-per-second limit, shared by every dialer.",
        },
        "callback_base_url": {
            "label": "Callback base URL",
            "schema": {"type": ["string", "null"]},
            "description": "Public URL of this Airflow API server for status callbacks; empty = poll only.",
        },
        "min_balance": {
            "label": "Minimum balance",
            "schema": {"type": ["number", "null"], "default": extras.DEFAULT_MIN_BALANCE, "minimum": 0},
            "description": "A campaign does not start while the account's balance is below this.",
        },
        "http_timeout": {
            "label": "HTTP timeout (seconds)",
            "schema": {"type": ["number", "null"], "default": extras.HTTP_TIMEOUT_S, "minimum": 1},
            "description": "Seconds to wait for one answer from the Twilio API.",
        },
    }
