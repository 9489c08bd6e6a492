"""Derive plugins/outcall_provider/rules/data/us_area_code_states.csv from the phonenumbers package.

For every NANP area code 200-999 that phonenumbers treats as region US (a sample number valid for
US), collect the English geocoder descriptions of every prefix under +1<area code> in
phonenumbers.geodata ('Florida', 'San Francisco, CA', 'Washington D.C.') and turn each into a USPS
state code. An area code whose prefixes name several states gets all of them (space separated): a
caller must then respect the rules of every one. Territories (PR, GU, VI, AS, MP) are their own
regions in phonenumbers and are not listed.

Run from the repo root:  .venv/bin/python tools/derive_area_code_states.py [--check]
--check exits 1 if the shipped file differs from what would be written (header date aside).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import phonenumbers
from phonenumbers.geodata import GEOCODE_DATA

OUT = Path(__file__).resolve().parents[1] / "plugins/outcall_provider/rules/data/us_area_code_states.csv"
DERIVED_ON = "2026-11-27"

STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "District of Columbia": "DC",
    "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL",
    "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN",
    "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR",
    "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD",
    "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA",
    "Washington": "WA", "Washington State": "WA", "West Virginia": "WV", "Wisconsin": "WI",
    "Wyoming": "WY", "Washington D.C.": "DC", "Washington DC": "DC",
}
CODES = set(STATES.values())


def state_of(description: str) -> str:
    """'Florida' -> FL, 'San Francisco, CA' -> CA; anything else is an error to fix here."""
    text = description.strip()
    if text in STATES:
        return STATES[text]
    match = re.fullmatch(r".+,\s*([A-Z]{2})", text)
    if match and match.group(1) in CODES:
        return match.group(1)
    raise ValueError(f"cannot map geocoder description {description!r} to a US state; extend STATES")


def is_us(area_code: int) -> bool:
    # Exchange 234 and 555-01xx style samples: valid iff phonenumbers has the area code for US.
    for sample in ("2345678", "5550123", "4561234"):
        number = phonenumbers.parse(f"+1{area_code}{sample}", None)
        if phonenumbers.is_valid_number_for_region(number, "US"):
            return True
    return False


def derive() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for area_code in range(200, 1000):
        if not is_us(area_code):
            continue
        prefix = f"1{area_code}"
        states = {state_of(names["en"]) for key, names in GEOCODE_DATA.items()
                  if key.startswith(prefix) and names and names.get("en")}
        if states:
            rows[str(area_code)] = sorted(states)
    return rows


def render(rows: dict[str, list[str]]) -> str:
    header = f"""\
# US area code (NANP NPA) -> USPS state code(s) its numbers are in, space separated. A lead's state
#   rules (us_state_rules.csv) come from its area code when the lead gives no state; an area code naming
#   several states means the rules of every one apply (the strictest wins).
# Source: the phonenumbers package {phonenumbers.__version__} (Apache-2.0, https://pypi.org/project/phonenumbers/),
#   a port of Google's libphonenumber: its geocoding data (module phonenumbers.geodata, English descriptions
#   of every prefix under +1<area code>, e.g. 'Florida', 'San Francisco, CA'), for the area codes for which
#   phonenumbers.is_valid_number_for_region(sample, 'US') holds. Derived {DERIVED_ON}
#   by tools/derive_area_code_states.py. Territories (PR, GU, VI, AS, MP) are other regions and are absent;
#   toll-free and non-geographic codes (800, 500, 900...) have no geocoding description and are absent.
# To extend: re-run `.venv/bin/python tools/derive_area_code_states.py` after upgrading phonenumbers (new
#   area codes appear), or add/edit a row by hand citing the source in a comment line above it.
"""
    body = "".join(f"{code},{' '.join(states)}\n" for code, states in sorted(rows.items()))
    return header + "area_code,states\n" + body


def main(argv: list[str]) -> int:
    rows = derive()
    text = render(rows)
    if "--check" in argv:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} differs from a fresh derivation")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(rows)} area codes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
