"""Airflow DAG factory: one DAG `campaign_<name>` per file in include/campaigns/
(or OUTCALL_CAMPAIGNS_DIR). Invalid files are reported by campaign_file_errors.py."""
from outcall_provider.dag_factory import campaign_dags

globals().update(campaign_dags())
