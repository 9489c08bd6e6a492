"""Provider metadata read by Airflow through the `apache_airflow_provider` entry point."""


def get_provider_info() -> dict:
    return {
        "package-name": "airflow-provider-outcall",
        "name": "outcall",
        "description": "Outbound phone-call campaigns for an AI voice assistant over Twilio.",
        "versions": ["0.1.0"],
        "connection-types": [
            {"connection-type": "twilio", "hook-class-name": "outcall_provider.hooks.twilio.TwilioHook"},
        ],
        "conn-fields": {
            "twilio": {
                "base_url": {
                    "label": "API base URL",
                    "schema": {"type": ["string", "null"], "default": "https://api.twilio.com"},
                    "description": "Twilio REST API base; any Twilio-compatible server works.",
                },
                "calls_per_second": {
                    "label": "Calls per second",
                    "schema": {"type": ["number", "null"], "default": 1, "minimum": 0.1},
                    "description": "The account's outbound calls-per-second limit.",
                },
                "callback_base_url": {
                    "label": "Callback base URL",
                    "schema": {"type": ["string", "null"]},
                    "description": "Public URL of this Airflow API server for status callbacks; empty = poll only.",
                },
            },
        },
        "plugins": [{"name": "outcall", "plugin-class": "outcall_provider.plugin.OutcallPlugin"}],
    }
