"""The SQL speaks the vocabulary of rules/states.py: queries name it, the schema agrees with it."""
from __future__ import annotations

import pytest

from outcall_provider import sql
from outcall_provider.rules import states


def test_every_query_loads_with_its_vocabulary_spelled_out():
    for name in sql.query_names():
        text = sql.query(name)
        assert "{{" not in text, name


def test_a_query_names_statuses_and_gets_their_literals():
    assert "status in ('created', 'rescheduled')" in sql.query("claim_due_leads")
    assert "status = 'processing'" in sql.query("attempt_lead_still_ours")


def test_an_unknown_word_is_an_error_naming_the_file_and_the_known_words():
    expected = r"sql/queries/x\.sql: unknown word \{\{LeadStatus\.DIALING\}\}.*LeadStatus\.CREATED"
    with pytest.raises(KeyError, match=expected):
        sql._expand("x", "select {{LeadStatus.DIALING}}")


def _check_values(hook, table: str) -> str:
    with hook.db.cursor() as cur:
        cur.execute("select pg_get_constraintdef(oid) from pg_constraint "
                    "where conrelid = %s::regclass and contype = 'c'", (table,))
        return " ".join(r[0] for r in cur.fetchall())


def test_the_schema_allows_exactly_the_lead_and_campaign_statuses(hook):
    for table, values in (("outcall_leads", states.LEAD_STATUSES), ("outcall_campaigns", states.CAMPAIGN_STATUSES)):
        check = _check_values(hook, table)
        for value in values:
            assert f"'{value}'" in check, (table, value)
        with hook.db.cursor() as cur:
            cur.execute("select count(*) from pg_constraint where conrelid = %s::regclass and contype = 'c' "
                        "and pg_get_constraintdef(oid) like %s", (table, "%status%"))
            assert cur.fetchone()[0] == 1, table
        allowed = check[check.index("ARRAY["):]
        assert allowed.count("'") == 2 * len(values), (table, allowed)


def test_the_sql_functions_agree_with_the_python_vocabulary(hook):
    with hook.db.cursor() as cur:
        for status in states.CALL_STATUSES:
            cur.execute("select outcall_call_ended(%s)", (status,))
            assert cur.fetchone()[0] == (status in states.TERMINAL_CALL_STATUSES), status
        cur.execute("select outcall_due_status(null), outcall_due_status('no_answer')")
        assert cur.fetchone() == (states.LeadStatus.CREATED.value, states.LeadStatus.RESCHEDULED.value)
