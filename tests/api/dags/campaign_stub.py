"""Stand-in campaign DAGs for the page tests: only the DAG ids `campaign_<name>` and their
paused state matter to the page, so these do nothing (the real factory is dags/campaigns.py)."""
from datetime import datetime

from airflow.sdk import DAG

for name in ("example",):
    with DAG(f"campaign_{name}", schedule="*/10 * * * *", start_date=datetime(2025, 1, 1), catchup=False):
        pass
