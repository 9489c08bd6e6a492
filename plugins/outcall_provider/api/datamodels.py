"""Request and response bodies of the JSON API (like edge3's worker_api/datamodels.py).

Each route sets its response model, so /outcall/api/v1/openapi.json documents every field the
page reads. A field the routes return but a model lacks would be dropped from the answer:
tests/api/test_api.py compares the store's rows with these models.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi.encoders import decimal_encoder
from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from outcall_provider.rules.states import HAND_SET_LEAD_STATUSES, PAGE_STATUSES

# Written as FastAPI wrote them before these models: datetime.isoformat() ("+00:00", where
# pydantic would write "Z") and money as a JSON number (pydantic would write a string).
Timestamp = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
                      WithJsonSchema({"type": "string", "format": "date-time"})]
Money = Annotated[Decimal, PlainSerializer(decimal_encoder, return_type=int | float, when_used="json"),
                  WithJsonSchema({"type": "number"})]


# -- vocabulary ------------------------------------------------------------------------------
class Vocabulary(BaseModel):
    """Every status, in the order the page shows them."""

    lead_statuses: list[str] = Field(description="Statuses a lead can have.")
    call_statuses: list[str] = Field(description="Twilio's call statuses.")
    campaign_statuses: list[str] = Field(description="Statuses a campaign can have.")
    page_statuses: list[str] = Field(description="What the page shows for a campaign: its status, or "
                                                 "invalid_file while its campaign file is broken.")


# -- campaigns -------------------------------------------------------------------------------
class Schedule(BaseModel):
    hours: str = Field(description='Allowed hours on the assistant\'s clock, e.g. "09:00-18:00".')
    days: list[str] = Field(description="Allowed weekdays (mon … sun).")


class CampaignSummary(BaseModel):
    """One campaign's progress: its file (or the spec its store kept) and its store's counts."""

    name: str = Field(description="Campaign name, the campaign file's name.")
    dag_id: str = Field(description="The campaign's DAG: campaign_<name>.")
    status: Literal[PAGE_STATUSES] = Field(
        description="draft (never started), in_progress, paused (its DAG is paused), completed "
                    "(every lead terminal), or invalid_file (its file has errors, see file_errors; its DAG "
                    "is gone and its leads and calls are kept, read only, until the file is fixed).")
    file_errors: list[str] = Field(
        description="Why the campaign file is invalid, each naming the file, the key and what is allowed; "
                    "empty when it is valid.")
    dag_loaded: bool = Field(description="Whether Airflow has loaded the campaign's DAG.")
    dag_paused: bool | None = Field(description="Whether the DAG is paused; null when it is not loaded.")
    assistant: str | None = Field(description="The assistant's name; null when the file is invalid and no store "
                                              "kept its spec (so for the fields below).")
    timezone: str | None = Field(description="The assistant's IANA timezone, the calling window's clock; "
                                              "the page shows every time on it.")
    goal: str | None = Field(description="The boolean post-call variable that counts as success, if any.")
    post_call_variables: dict[str, str] = Field(description="Post-call variable name → boolean, string or number.")
    schedule: Schedule | None = Field(description="The calling window.")
    max_attempts: int | None = Field(description="Rounds of calls a lead gets.")
    window_open: bool | None = Field(description="Whether the calling window is open now.")
    window_next_open: Timestamp | None = Field(description="When the window next opens (now, if it is open).")
    window_closes_at: Timestamp | None = Field(description="When the open window closes; null when it is closed.")
    leads: int = Field(description="Leads in the campaign.")
    leads_by_status: dict[str, int] = Field(description="Lead count by lead status, every status listed.")
    goal_met: int = Field(description="Leads whose goal variable came back true.")
    conversion: float | None = Field(description="goal_met / leads; null without a goal or leads.")
    calls_today: int = Field(description="Calls started since midnight on the assistant's clock.")
    calls_in_flight: int = Field(description="Calls Twilio still works on (dialing, queued, ringing, in progress).")
    calls_awaiting_result: int = Field(
        description="Calls that ended but are not judged yet (waiting for post-call variables or the next "
                    "reconcile); their leads are `processing` too.")
    cost: Money = Field(description="Sum of the priced calls' cost (positive), in cost_unit.")
    cost_unit: str | None = Field(description="Currency of cost, e.g. USD; null before any call is priced.")
    db_conn_id: str = Field(description="The Airflow connection of the store that keeps the campaign's leads.")
    store_error: str | None = Field(description="Why that store cannot be read (phone numbers masked); null if it can.")


class CampaignList(BaseModel):
    campaigns: list[CampaignSummary] = Field(description="Every campaign the user may read, by name.")


class FunnelStage(BaseModel):
    stage: str = Field(description="leads, called, reached a person, and goal met with a goal.")
    leads: int = Field(description="Leads at this stage; each stage is a subset of the one before, counted per "
                                   "lead over all its calls (every cycle).")
    title: str = Field(description="What this stage counts, in words.")


class HourRate(BaseModel):
    hour: int = Field(description="Hour of day (0-23) on the assistant's clock.")
    calls: int = Field(description="Calls started in that hour.")
    answered: int = Field(description="Of those, calls completed and answered by a person (or an undecided detector).")


class CampaignStats(CampaignSummary):
    """A campaign's progress with its charts."""

    funnel: list[FunnelStage] = Field(description="Leads by how far they got.")
    attempts_by_outcome: dict[str, int] = Field(description="Judged calls by outcome reason.")
    live_calls: dict[str, int] = Field(description="Calls not judged yet by Twilio's call status (dialing before "
                                                   "Twilio answered).")
    answer_rate_by_hour: list[HourRate] = Field(description="Calls and answers by hour of day, hours with calls only.")


class RunningChange(BaseModel):
    running: bool = Field(description="true: unpause the DAG and run it now; false: pause it.")


class RunningChanged(BaseModel):
    running: bool = Field(description="The state asked for.")
    run_id: str | None = Field(description="The DAG run started; null when pausing.")


# -- leads -----------------------------------------------------------------------------------
class Contact(BaseModel):
    position: int = Field(description="1-10: the order secondary contacts are dialed in.")
    phone_number: str = Field(description="E.164 number.")
    invalid_reason: str | None = Field(description="Why Twilio refused the number; null if it did not.")


class LastCall(BaseModel):
    call_status: str = Field(description="Twilio's call status.")
    answered_by: str | None = Field(description="human, machine_*, fax or unknown; null if not detected.")
    outcome: str | None = Field(description="Outcome reason once judged.")
    started_at: str = Field(description="When the call started (ISO 8601, as the store wrote it).")
    to_number: str = Field(description="The number dialed.")


class Lead(BaseModel):
    id: int = Field(description="Lead id.")
    external_id: str | None = Field(description="The source's id for the lead (the import's upsert key).")
    phone_number: str = Field(description="Primary number (contact 0), E.164.")
    phone_invalid_reason: str | None = Field(description="Why Twilio refused the primary number; null if it did not.")
    status: str = Field(description="Lead status (see /vocabulary).")
    cycle: int = Field(description="Bumped each time a person sets the lead's status.")
    round: int = Field(description="Round of calls in this cycle (max_attempts counts rounds).")
    contact_index: int = Field(description="Next contact to dial in this round; 0 is the primary number.")
    contact_count: int = Field(description="The primary number plus its secondary contacts.")
    due_at: Timestamp = Field(description="Earliest moment of the next call.")
    next_due_at: Timestamp | None = Field(
        description="When it will be called: due_at for a lead waiting for its call (created, rescheduled); "
                    "null while a call is planned or in flight, or when it is done.")
    goal_met: bool | None = Field(description="Whether the goal variable came back true; null until judged.")
    last_outcome: str | None = Field(description="Outcome reason of the last judged call.")
    variables: dict[str, Any] = Field(description="Variables handed to the assistant.")
    updated_at: Timestamp = Field(description="Last activity: a call recorded or judged, a claim, a person's "
                                              "change, an import.")
    contacts: list[Contact] = Field(description="Secondary contacts in dialing order.")
    attempts: int = Field(description="Calls made to this lead.")
    last_call: LastCall | None = Field(description="The latest call; null before the first.")


class LeadPage(BaseModel):
    leads: list[Lead] = Field(description="Leads, in the order asked for (sort).")
    next_before: int | None = Field(description="`before` of the next page; null on the last page.")
    next_before_at: Timestamp | None = Field(
        description="`before_at` of the next page when sorted by last activity; null otherwise.")


class StatusChange(BaseModel):
    status: Literal[HAND_SET_LEAD_STATUSES] = Field(
        description="created: call again from the first round; completed: stop calling it.")


class LeadStatusChanged(BaseModel):
    id: int = Field(description="Lead id.")
    status: str = Field(description="The lead's status now.")


class NewLead(BaseModel):
    phone_number: str = Field(
        description="Primary number: E.164, or national with the campaign's default_region.", max_length=50)
    secondary_phones: list[Annotated[str, Field(max_length=50)]] = Field(
        description="Up to 10 secondary numbers, in dialing order.", default=[], max_length=10)
    external_id: str | None = Field(description="The source's id for the lead.", default=None, max_length=200)
    variables: dict[str, Annotated[str, Field(max_length=2000)]] = Field(
        description="Variables handed to the assistant.", default={}, max_length=50)


# -- imports ---------------------------------------------------------------------------------
class Reject(BaseModel):
    line: int | None = Field(description="Line of the file; null for a lead added by hand.")
    field: str | None = Field(description="The column at fault; null for the whole row.")
    value: str | None = Field(description="The value refused, phone numbers masked.")
    reason: str = Field(description="Why, phone numbers masked.")
    skipped_row: bool = Field(description="true: the row was not imported; false: only this contact was dropped.")


class ImportResult(BaseModel):
    """What an import or a lead added by hand did."""

    report_id: int = Field(description="The stored report (GET …/imports/{report_id}).")
    imported: int = Field(description="Leads added.")
    updated: int = Field(description="Existing leads updated (same external_id or phone number).")
    rejected: int = Field(description="Rows not imported.")
    warnings: int = Field(description="Contacts dropped from rows that were imported.")
    error: str | None = Field(description="A file-level error (no header, bad columns); null if none.")
    rejects: list[Reject] = Field(description="Rejected rows and dropped contacts, the first 500.")


class ImportReport(BaseModel):
    """A stored import report."""

    id: int = Field(description="Report id.")
    source: str = Field(description="What was imported and by whom.")
    started_at: Timestamp = Field(description="When the import started.")
    finished_at: Timestamp | None = Field(description="When it finished; null if it did not.")
    imported: int = Field(description="Leads added.")
    updated: int = Field(description="Existing leads updated.")
    rejected: int = Field(description="Rows not imported.")
    error: str | None = Field(description="A file-level error; null if none.")
    rejects: list[Reject] = Field(description="Rejected rows and dropped contacts, the first 500.")


# -- calls -----------------------------------------------------------------------------------
class Call(BaseModel):
    """One call (attempt)."""

    id: int = Field(description="Attempt id.")
    lead_id: int = Field(description="The lead called.")
    to_number: str = Field(description="The number dialed.")
    contact_index: int = Field(description="0: the primary number, else the secondary contact's position.")
    round: int = Field(description="Round of the lead's cycle.")
    cycle: int = Field(description="The lead's cycle.")
    started_at: Timestamp = Field(description="When the attempt was written, just before dialing.")
    ended_at: Timestamp | None = Field(description="When the call ended; null while it goes on.")
    call_sid: str | None = Field(description="Twilio's call SID; null until Twilio accepted the call.")
    call_status: str = Field(description="Twilio's call status (dialing before Twilio answered).")
    answered_by: str | None = Field(description="human, machine_*, fax or unknown; null if not detected.")
    duration_s: int | None = Field(description="Call length in seconds.")
    price: Money | None = Field(description="Twilio's price (negative: a cost); null until Twilio priced it.")
    price_unit: str | None = Field(description="Currency of price.")
    variables: dict[str, Any] | None = Field(
        description="Post-call variables: received so far until judged, then those it was judged on.")
    variables_at: Timestamp | None = Field(description="When those variables were received.")
    late_variables: dict[str, Any] | None = Field(description="Variables that arrived after judging (not judged on).")
    late_variables_at: Timestamp | None = Field(description="When the late variables arrived.")
    judged_at: Timestamp | None = Field(description="When the outcome rules judged the call.")
    outcome: str | None = Field(description="The rules' action once judged.")
    outcome_reason: str | None = Field(description="Why, e.g. goal met, busy.")
    outcome_note: str | None = Field(description="What else the judgment noted, e.g. variables waited for.")
    transcript: str | None = Field(description="The assistant's transcript of the call, as it sent it.")
    recording_url: str | None = Field(description="http(s) URL of the call's recording, as the assistant sent it.")
    audit: dict[str, Any] | None = Field(
        default=None,
        description="What allowed the call (compliance, issue 12): checked_at, campaign_window, recipient_hours "
                    "or recipient_hours_off (the written reason they are off), local_times {zone: callee's local "
                    "time}, zones, zone_source, states, state_rules, dnc {list_version}, frequency {calls_before, "
                    "cap}, consent_at, consent_required, caller_id {number (masked to its last 4 digits), "
                    "strategy, why}. Null for a call placed before audits were kept.")


class CallPage(BaseModel):
    calls: list[Call] = Field(description="Calls, newest first.")
    next_before: int | None = Field(description="`before` of the next page; null on the last page.")


# -- compliance ------------------------------------------------------------------------------
class HoldReasonInfo(BaseModel):
    code: str = Field(description="Reason code, as `outcall preview --json` writes it.")
    label: str = Field(description="A short human label.")
    meaning: str = Field(description="What the reason means.")


class HeldCounts(BaseModel):
    """How many of a campaign's leads are held back, and why, at one moment."""

    at: Timestamp = Field(description="The moment judged: when the counts were computed, or the `at` asked for.")
    cached: bool = Field(description="Answered from the API server's cache (counts of `now` are kept ~30 s).")
    dialable: int = Field(description="Leads a dialer could call at that moment.")
    held: dict[str, int] = Field(description="Leads held back per reason code, every code listed; a lead "
                                             "counts under each of its reasons.")
    reasons: list[HoldReasonInfo] = Field(description="Every reason code with its label and meaning, in order.")
