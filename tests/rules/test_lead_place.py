"""Where a lead's callee is and whether they consented: the timezone, state, postal_code and
consent_at columns of a lead row (rules/leads.py), and the CalleeClock each row gets.
Area codes used: 212 / 718 New York, 213 Los Angeles, 305 Florida, 850 Florida panhandle (Central
and Eastern), 201 New Jersey (and New York per the table), 800 toll-free (no place)."""
from datetime import datetime, timedelta, timezone

import pytest

from outcall_provider.rules.compliance import CalleeClock
from outcall_provider.rules.leads import Lead, RowProblem, parse_consent, parse_row, read_header

pytestmark = pytest.mark.unit

NY, CHI, DEN, LA = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
HEADER = ["phone_number", "secondary_phone_1", "first_name", "timezone", "state", "postal_code", "consent_at"]
COLS = read_header(HEADER, "leads.csv")
NO_ZONE = ("no time zone is known for this lead's numbers; it is kept but not called until it has a timezone, "
           "state or postal_code")
BAD_CONSENT = "is not an ISO time such as 2026-05-01T14:30:00Z; the lead is kept without consent"


def row(phone="+12125550123", secondary="", name="Ana", tz="", state="", postal_code="", consent=""):
    return [phone, secondary, name, tz, state, postal_code, consent]


def parse(**fields):
    return parse_row(COLS, row(**fields), 7, None)


def test_place_columns_are_not_variables():
    assert COLS.variables == (("first_name", 2),)
    assert COLS.place == (("timezone", 3), ("state", 4), ("postal_code", 5), ("consent_at", 6))
    lead, problems = parse(tz=LA, state="ca", postal_code="90210", consent="2026-05-01T14:30:00Z")
    assert problems == []
    assert lead == Lead(7, "+12125550123", None, (), {"first_name": "Ana"},
                        CalleeClock(None, (LA,), ("CA",), "lead timezone"),
                        datetime(2026, 5, 1, 14, 30, tzinfo=timezone.utc))


def test_a_file_without_place_columns_reads_the_numbers():
    cols = read_header(["phone_number", "first_name"], "leads.csv")
    assert cols.place == ()
    lead, problems = parse_row(cols, ["+12125550123", "Ana"], 2, None)
    assert problems == [] and lead.consent_at is None
    assert lead.clock == CalleeClock(None, (NY,), ("NY",), "numbers: phonenumbers")


@pytest.mark.parametrize("fields, clock", [
    # timezone: that zone alone; states still from the number's area code
    (dict(tz=LA), CalleeClock(None, (LA,), ("NY",), "lead timezone")),
    (dict(tz=" America/Chicago "), CalleeClock(None, (CHI,), ("NY",), "lead timezone")),
    # state: every zone of the state, and that state instead of the area code's
    (dict(state="tx"), CalleeClock(None, (CHI, DEN), ("TX",), "state TX (table us_state_zones.csv)")),
    (dict(state="FL", secondary="+12135550123"),
     CalleeClock(None, (CHI, NY), ("FL",), "state FL (table us_state_zones.csv)")),
    # postal code: the ZIP's zones; states from the area codes of every number
    (dict(postal_code="32401"),
     CalleeClock(None, (CHI,), ("NY",), "postal code 32401 (table us_zip_zones.csv, ZIP 32401)")),
    (dict(postal_code="90210", secondary="+13055550123"),
     CalleeClock(None, (LA,), ("FL", "NY"), "postal code 90210 (table us_zip_zones.csv, prefix 902)")),
    # timezone beats state and postal code for the zones; the state column still names the state
    (dict(tz=LA, state="NV", postal_code="10001"), CalleeClock(None, (LA,), ("NV",), "lead timezone")),
])
def test_place_columns(fields, clock):
    lead, problems = parse(**fields)
    assert problems == [] and lead.clock == clock


@pytest.mark.parametrize("phone, secondary, zones, states, source", [
    ("+12125550123", "", (NY,), ("NY",), "numbers: phonenumbers"),
    # the person may be wherever any number places them: the union of every number's zones and states
    ("+12125550123", "+12135550123", (LA, NY), ("CA", "NY"), "numbers: phonenumbers"),
    ("+18505550123", "+12135550123", (CHI, LA, NY), ("CA", "FL"),
     "numbers: area code 850 (table us_area_code_zones.csv) + phonenumbers; phonenumbers"),
    ("+12015550123", "+17185550123", (NY,), ("NJ", "NY"), "numbers: phonenumbers"),
    # a toll-free number has no place; its secondary's place is the lead's
    ("+18005550123", "+13055550123", (NY,), ("FL",), "numbers: phonenumbers"),
    ("+13055550123", "+18005550123", (NY,), ("FL",), "numbers: phonenumbers"),
])
def test_zones_and_states_of_every_number(phone, secondary, zones, states, source):
    lead, problems = parse(phone=phone, secondary=secondary)
    assert problems == []
    assert lead.clock == CalleeClock(None, zones, states, source)


def test_numbers_without_a_zone_keep_the_lead_with_a_warning():
    lead, problems = parse(phone="+18005550123", secondary="+18885550123")
    assert lead.clock == CalleeClock(None, (), (), "no zone known")
    assert problems == [RowProblem(7, "phone_number", "+18005550123", NO_ZONE, skipped_row=False)]


def test_a_non_us_number_has_its_zone_and_no_state():
    lead, problems = parse(phone="+351912345678")  # a Portuguese mobile: mainland or the Azores
    assert problems == []
    assert lead.clock == CalleeClock(None, ("Atlantic/Azores", "Europe/Lisbon"), (), "numbers: phonenumbers")


@pytest.mark.parametrize("fields, field, value, reason", [
    (dict(tz="Mars/Olympus"), "timezone", "Mars/Olympus",
     "timezone 'Mars/Olympus' is not a known IANA time zone; allowed an IANA name such as 'America/New_York'"),
    (dict(tz="EST5EDT x"), "timezone", "EST5EDT x",
     "timezone 'EST5EDT x' is not a known IANA time zone; allowed an IANA name such as 'America/New_York'"),
    (dict(postal_code="ABC12"), "postal_code", "ABC12",
     "postal_code 'ABC12' is not a US ZIP code; allowed 5 digits, or ZIP+4 like 32401-1234"),
    (dict(postal_code="00000"), "postal_code", "00000",
     "postal_code '00000' is not a known US ZIP code (table us_zip_zones.csv)"),
])
def test_a_bad_place_rejects_the_row_naming_the_column(fields, field, value, reason):
    lead, problems = parse(**fields)
    assert lead is None
    assert problems == [RowProblem(7, field, value, reason)]


def test_a_bad_state_rejects_the_row():
    lead, [problem] = parse(state="ZZ")
    assert lead is None
    assert (problem.line, problem.field, problem.value, problem.skipped_row) == (7, "state", "ZZ", True)
    assert problem.reason.startswith("state 'ZZ' is not a known US state; allowed a two-letter USPS code: AK, AL")


def test_a_bad_state_beside_a_timezone_rejects_the_row():
    """Bug: with a timezone the state column is never checked, so the lead is kept with the state
    'ZZ' and every later rule on it (StateRules.cap / allowed_at via number_cap, check_hours,
    hold_reasons) raises ValueError("state 'ZZ' is not a known US state") at claim, preview and dial."""
    lead, problems = parse(tz=NY, state="ZZ")
    assert lead is None
    assert [(p.field, p.value, p.skipped_row) for p in problems] == [("state", "ZZ", True)]


@pytest.mark.parametrize("consent, expected", [
    ("2026-05-01T14:30:00Z", datetime(2026, 5, 1, 14, 30, tzinfo=timezone.utc)),
    ("2026-05-01T14:30:00+00:00", datetime(2026, 5, 1, 14, 30, tzinfo=timezone.utc)),
    # an offset is kept: the same instant as 12:30Z
    ("2026-05-01T14:30:00+02:00", datetime(2026, 5, 1, 12, 30, tzinfo=timezone.utc)),
    ("2026-05-01T09:30-05:00", datetime(2026, 5, 1, 14, 30, tzinfo=timezone.utc)),
    # no offset: UTC
    ("2026-05-01T14:30:00", datetime(2026, 5, 1, 14, 30, tzinfo=timezone.utc)),
    ("2026-05-01 14:30", datetime(2026, 5, 1, 14, 30, tzinfo=timezone.utc)),
    ("2026-05-01", datetime(2026, 5, 1, tzinfo=timezone.utc)),
    (" 2026-05-01T14:30:00Z ", datetime(2026, 5, 1, 14, 30, tzinfo=timezone.utc)),
])
def test_consent_at(consent, expected):
    lead, problems = parse(consent=consent)
    assert problems == []
    assert lead.consent_at == expected and lead.consent_at.utcoffset() is not None
    assert parse_consent(consent) == expected


def test_consent_offset_is_kept_as_given():
    assert parse_consent("2026-05-01T14:30:00+02:00").utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize("consent", ["yes", "01/05/2026", "2026-13-01", "2026-05-01T25:00", "1714573800"])
def test_a_bad_consent_at_keeps_the_lead_without_consent(consent):
    lead, problems = parse(consent=consent)
    assert lead is not None and lead.consent_at is None
    assert problems == [RowProblem(7, "consent_at", consent, BAD_CONSENT, skipped_row=False)]
    assert parse_consent(consent) is None


def test_an_empty_consent_at_is_no_consent_without_a_warning():
    lead, problems = parse(consent="  ")
    assert problems == [] and lead.consent_at is None


def test_warnings_add_up_and_the_lead_is_kept():
    lead, problems = parse(phone="+18005550123", secondary="+18005550123", consent="soon")
    assert lead is not None and lead.secondaries == ()
    assert [(p.field, p.skipped_row) for p in problems] == [
        ("secondary_phone_1", False), ("phone_number", False), ("consent_at", False)]
