"""Do-not-call lists of a campaign store, shared by all its campaigns: the lists, one number,
adding a number by hand, removing one.

The lists belong to no single campaign (no DAG), so access is checked on DAGs in general, as
Airflow's own list endpoints do when no DAG is named: reading needs GET (as reading campaigns),
changing needs PUT (edit). Phone numbers are masked to their last 4 digits in every answer and log.
"""
from __future__ import annotations

import logging
from typing import Annotated

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from outcall_provider import clock
from outcall_provider.api.airflow_access import authorize_dags
from outcall_provider.api.datamodels import Timestamp
from outcall_provider.api.routes.common import PREFIX
from outcall_provider.api.store import DEFAULT_DB_CONN_ID, store_conn_ids, thread_hook
from outcall_provider.hooks.dnc import HAND_LIST, LIST_NAME, DncError, dnc_number
from outcall_provider.rules.phone import mask_phone, mask_phones_in_text

log = logging.getLogger(__name__)
router = APIRouter(prefix=PREFIX, tags=["do-not-call"])
STORE = ("Airflow connection of the campaign store whose lists these are (default outcall_db; "
         "any store a campaign file names)")
REGION = "Region of a national number, e.g. US (default: the number must be E.164)"
LISTS = "do-not-call lists"  # what a refusal names


# -- bodies ----------------------------------------------------------------------------------
class DncListInfo(BaseModel):
    list: str = Field(description="List name: hand (added by a person), opt-out (callees who asked "
                                  "not to be called again), or the name of an imported or synced list.")
    numbers: int = Field(description="Numbers on the list.")
    last_added_at: Timestamp | None = Field(description="When a number was last added to it.")


class DncLists(BaseModel):
    lists: list[DncListInfo] = Field(description="Every list of the store, by name.")
    suppressed_numbers: int = Field(description="Distinct numbers on any list (each is never dialed).")
    version: int = Field(description="Version of the lists as a whole; changes with every change "
                                     "and is recorded in each call's audit.")


class DncEntry(BaseModel):
    list: str
    source: str | None = Field(description="Who or what put the number there (file, query, person, call); "
                                           "phone numbers in it masked.")
    added_at: Timestamp


class DncNumber(BaseModel):
    phone_number: str = Field(description="The number, masked to its last 4 digits.")
    suppressed: bool = Field(description="On any list: no campaign of the store dials it.")
    lists: list[DncEntry] = Field(description="The lists it is on, oldest entry first.")


class NewDncNumber(BaseModel):
    phone_number: str = Field(description="E.164, or national with default_region.", max_length=50)
    note: str | None = Field(default=None, max_length=500, description="Why; kept with the entry's source.")
    default_region: str | None = Field(default=None, max_length=2, description=REGION)


class DncAdded(DncNumber):
    added: bool = Field(description="False: it was on list hand already (unchanged).")


class DncRemoved(DncNumber):
    removed_from: list[str] = Field(description="The lists it left.")


def _hook(conn_id: str | None):
    conn_id = conn_id or DEFAULT_DB_CONN_ID
    if conn_id not in store_conn_ids():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign store {conn_id!r} "
                            "(the default outcall_db or one a campaign file names)")
    return thread_hook(conn_id)


def _number(raw: str, default_region: str | None) -> str:
    try:
        return dnc_number(raw, default_region)
    except DncError as e:
        raise HTTPException(422, str(e)) from None


def _entries(hook, number: str) -> dict:
    entries = hook.dnc_entries(number)
    for e in entries:
        e["source"] = mask_phones_in_text(e["source"]) if e["source"] else e["source"]
    return {"phone_number": mask_phone(number), "suppressed": bool(entries), "lists": entries}


StoreQuery = Annotated[str | None, Query(alias="store", max_length=250, description=STORE)]
RegionQuery = Annotated[str | None, Query(max_length=2, description=REGION)]


# -- routes ----------------------------------------------------------------------------------
@router.get("/dnc", response_model=DncLists, summary="The do-not-call lists with their sizes")
def list_dnc(user: GetUserDep, store: StoreQuery = None):
    authorize_dags(user, "GET", LISTS)
    hook = _hook(store)
    return {"lists": hook.dnc_lists(), "suppressed_numbers": hook.dnc_suppressed_numbers(),
            "version": hook.dnc_version()}


@router.get("/dnc/{number}", response_model=DncNumber, summary="Is a number suppressed, and on which lists",
            responses={422: {"description": "not a phone number"}})
def check_dnc(number: str, user: GetUserDep, store: StoreQuery = None, default_region: RegionQuery = None):
    authorize_dags(user, "GET", LISTS)
    hook = _hook(store)
    return _entries(hook, _number(number, default_region))


@router.post("/dnc", status_code=201, response_model=DncAdded,
             summary="Put a number on list hand: no campaign of the store dials it again",
             responses={422: {"description": "not a phone number"}})
def add_dnc(new: NewDncNumber, user: GetUserDep, store: StoreQuery = None):
    authorize_dags(user, "PUT", LISTS)
    hook = _hook(store)
    number = _number(new.phone_number, new.default_region)
    source = f"by {user.get_name()} via the Campaigns page" + (f": {new.note}" if new.note else "")
    added = hook.dnc_add([number], HAND_LIST, source, clock.now()) > 0
    log.info("%s %s list %s by %s", mask_phone(number), "added to" if added else "already on", HAND_LIST,
             user.get_name())
    return {**_entries(hook, number), "added": added}


@router.delete("/dnc/{number}", response_model=DncRemoved,
               summary="Take a number off a list (default hand)",
               description="Only the list named is changed: a number on another list (e.g. opt-out) "
                           "stays suppressed, and the answer says so.",
               responses={404: {"description": "the number is not on that list"},
                          422: {"description": "not a phone number, or not a list name"}})
def remove_dnc(number: str, user: GetUserDep, store: StoreQuery = None, default_region: RegionQuery = None,
               list_name: Annotated[str, Query(alias="list", pattern=f"^{LIST_NAME.pattern}$",
                                               description="The list to take it off.")] = HAND_LIST):
    authorize_dags(user, "PUT", LISTS)
    hook = _hook(store)
    e164 = _number(number, default_region)
    left = hook.dnc_remove_lists(e164, list_name)
    if not left:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{mask_phone(e164)} is not on list {list_name}")
    log.info("%s removed from list %s by %s", mask_phone(e164), list_name, user.get_name())
    return {**_entries(hook, e164), "removed_from": left}
