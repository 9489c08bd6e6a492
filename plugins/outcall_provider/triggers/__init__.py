"""Triggers: what a deferred outcall task waits for in Airflow's triggerer, off the workers."""
