"""The sandbox is as strict as Twilio: queued calls have no start time, prices come late,
bad numbers and account limits are refused with Twilio's codes."""
import time
from datetime import datetime, timedelta, timezone

import pytest
from sbtools import FAST, FROM, VOICE, twilio_client, wait_ended, wait_until
from twilio.base.exceptions import TwilioRestException

from sandbox import Sandbox


def test_a_queued_call_has_no_start_time_and_start_time_filters_do_not_find_it():
    with Sandbox(cps=0.5, time_scale=FAST) as sb:  # the 2nd call waits 2 s in the CPS queue
        client = twilio_client(sb)
        began = datetime.now(timezone.utc) - timedelta(seconds=1)
        first = client.calls.create(to="+14155550020", from_=FROM, url=VOICE)
        queued = client.calls.create(to="+14155550021", from_=FROM, url=VOICE)
        created = time.time()

        call = client.calls(queued.sid).fetch()
        assert call.status == "queued" and call.start_time is None and call.end_time is None
        assert call.date_created is not None and call.queue_time == "0"
        assert sb.call(queued.sid)["started_at"] is None  # the log does not tell the slot either
        wait_until(lambda: client.calls(first.sid).fetch().start_time, 2)
        soon = datetime.now(timezone.utc) + timedelta(hours=1)
        for found in (client.calls.list(start_time_after=began),
                      client.calls.list(start_time_before=soon),
                      client.calls.list(start_time=began.date()),
                      client.calls.list(start_time_after=began, to="+14155550021")):
            assert queued.sid not in {c.sid for c in found}
        assert [c.sid for c in client.calls.list(start_time_after=began)] == [first.sid]
        assert [c.sid for c in client.calls.list(to="+14155550021")] == [queued.sid]

        started = wait_until(lambda: (c := client.calls(queued.sid).fetch()).start_time and c, 4)
        waited = started.start_time.timestamp() - created
        assert 0.5 <= waited <= 2.5  # set when it left the queue (RFC 2822: whole seconds)
        assert int(started.queue_time) >= 1500
        assert queued.sid in {c.sid for c in client.calls.list(start_time_after=began)}


def test_the_list_is_newest_first_by_date_created_then_creation_order():
    now = [1_800_000_000.0]
    with Sandbox(cps=1000, clock=lambda: now[0]) as sb:
        client = twilio_client(sb)
        sids = {}
        for name, at in (("a", 0.0), ("b", 5.2), ("c", 5.7), ("d", 5.1), ("e", -10.0)):
            now[0] = 1_800_000_000.0 + at  # the host clock may step back (NTP)
            sids[name] = client.calls.create(to="+14155550030", from_=FROM, url=VOICE).sid
        listed = [c.sid for c in client.calls.list()]
        # b, c, d share one second of date_created: the later created comes first
        assert listed == [sids[n] for n in ("d", "c", "b", "a", "e")]
        paged = [c.sid for c in client.calls.list(page_size=2)]
        assert paged == listed


def test_price_is_null_when_the_call_ends_and_filled_in_after_price_delay():
    with Sandbox(cps=100, time_scale=FAST, price_delay=1.0) as sb:
        client = twilio_client(sb)
        sid = client.calls.create(to="+14155550040", from_=FROM, url=VOICE).sid
        ended = wait_ended(client, sid)
        ended_seen = time.monotonic()
        assert ended.status == "completed" and int(ended.duration) >= 30
        assert ended.price is None and ended.price_unit == "USD"
        assert client.balance.fetch().balance == "100.00"
        priced = wait_until(lambda: (c := client.calls(sid).fetch()).price and c, 3)
        assert time.monotonic() - ended_seen >= 0.7
        assert priced.price.startswith("-0.0") and priced.price_unit == "USD"
        assert float(client.balance.fetch().balance) < 100


def test_price_delay_defaults_to_two_seconds():
    from sandbox.__main__ import parse_args

    with Sandbox() as sb:
        assert sb.config.price_delay_s == 2.0
    assert parse_args([]).price_delay == 2.0


REJECTED = [  # To, code, message
    ("4155551000", 21211, "Invalid 'To' Phone Number: 4155551000"),
    ("+1415555100", 21211, "Invalid 'To' Phone Number: +1415555100"),  # 9 national digits
    ("+15551231000", 21211, "Invalid 'To' Phone Number: +15551231000"),
    ("+447911123456", 21215, "Account not authorized to call +447911123456. Perhaps you need "
     "to enable some international permissions: "
     "https://www.twilio.com/console/voice/calls/geo-permissions/low-risk"),
    ("+19075551000", 21214, "'To' phone number cannot be reached"),
    ("+18085551000", 21217, "Phone number does not appear to be valid"),
    ("+14065551000", 13223, "Dial: Invalid phone number format"),
    ("+19005551000", 13224, "Twilio does not support calling this number or the number is "
     "invalid"),
]


@pytest.mark.parametrize("to, code, message", REJECTED)
def test_create_rejects_numbers_with_twilio_codes_and_creates_nothing(sb, to, code, message):
    with pytest.raises(TwilioRestException) as err:
        twilio_client(sb).calls.create(to=to, from_=FROM, url=VOICE)
    assert (err.value.status, err.value.code) == (400, code)
    assert err.value.msg == "Unable to create record: " + message  # twilio-python's prefix
    assert sb.calls() == [] and sb.stats()["calls"] == 0


@pytest.mark.parametrize("params, code", [
    ({"from_": "+14155559999"}, 21210),
    ({"url": "ftp://assistant.example.com/voice"}, 21205),
])
def test_account_wide_rejections(sb, params, code):
    kwargs = dict(dict(to="+14155550050", from_=FROM, url=VOICE), **params)
    with pytest.raises(TwilioRestException) as err:
        twilio_client(sb).calls.create(**kwargs)
    assert (err.value.status, err.value.code) == (400, code)
    assert sb.calls() == []


def test_allowed_country_codes_are_configurable():
    with Sandbox(cps=100, time_scale=FAST, allowed_country_codes=["1", "+44"]) as sb:
        client = twilio_client(sb)
        assert client.calls.create(to="+447911120000", from_=FROM, url=VOICE).sid
        with pytest.raises(TwilioRestException) as err:
            client.calls.create(to="+33612340000", from_=FROM, url=VOICE)
        assert err.value.code == 21215
        assert [c["to"] for c in sb.calls()] == ["+447911120000"]


def test_geo_permissions_refuse_a_destination_prefix_not_the_country():
    """Twilio's geo permissions are per destination prefix: inside +1, Anguilla (+1264) can be
    refused while the US is dialed. 21215 by default; 13227 and 32205 are Twilio's other
    geo-permission refusals. HTTP 400 with {code, message, more_info, status}, nothing created."""
    refused = {"+1264": 21215, "+1473": 13227, "+1441": 32205}
    with Sandbox(cps=100, time_scale=FAST, geo_refused_prefixes=refused) as sb:
        client = twilio_client(sb)
        for prefix, code in refused.items():
            with pytest.raises(TwilioRestException) as err:
                client.calls.create(to=prefix + "5550100", from_=FROM, url=VOICE)
            assert (err.value.status, err.value.code) == (400, code)
            assert err.value.uri.endswith("/Calls.json")
            assert prefix + "5550100" in err.value.msg
        assert client.calls.create(to="+14155550050", from_=FROM, url=VOICE).sid
        assert [c["to"] for c in sb.calls()] == ["+14155550050"]
    with Sandbox(cps=100, time_scale=FAST, geo_refused_prefixes=["+1264"]) as sb:  # a list: 21215 each
        with pytest.raises(TwilioRestException) as err:
            twilio_client(sb).calls.create(to="+12645550100", from_=FROM, url=VOICE)
        assert err.value.code == 21215 and "geo-permissions" in err.value.msg


def test_geo_refused_prefixes_name_what_is_allowed():
    with pytest.raises(ValueError, match="21215, 13227 or 32205"):
        Sandbox(geo_refused_prefixes={"+1264": 21211})
    with pytest.raises(ValueError, match="'\\+' and 1-15 digits"):
        Sandbox(geo_refused_prefixes=["1264x"])


def test_a_subaccount_balance_may_be_null():
    """Twilio may answer {"balance": null} for a child account; the twilio client gives None."""
    with Sandbox(cps=100, time_scale=FAST, balance=None) as sb:
        b = twilio_client(sb).balance.fetch()
        assert b.balance is None and b.currency == "USD"
        assert sb.stats()["responses"]["balance.fetch 200"] == 1


def test_the_command_line_takes_geo_refusals_and_a_null_balance():
    from sandbox.__main__ import parse_args, sandbox_options

    options = sandbox_options(parse_args(["--geo-refuse", "+1264", "--geo-refuse", "+1473=13227",
                                          "--balance", "null"]))
    assert options["geo_refused_prefixes"] == {"+1264": 21215, "+1473": 13227}
    assert options["balance"] is None
    assert sandbox_options(parse_args([]))["balance"] == 100.0


def test_a_twiml_over_4000_characters_is_refused_with_32018_and_creates_nothing(sb):
    """Twilio refuses a Twiml longer than 4,000 characters (32018, HTTP 400). Characters, not
    bytes: 4,000 characters of `é` (8,000 bytes) are accepted."""
    def twiml(n: int, ch: str = "a") -> str:
        head, tail = "<Response><Say>", "</Say></Response>"
        return head + ch * (n - len(head) - len(tail)) + tail

    client = twilio_client(sb)
    assert client.calls.create(to="+14155550060", from_=FROM, twiml=twiml(4000)).sid
    assert client.calls.create(to="+14155550061", from_=FROM, twiml=twiml(4000, "é")).sid
    with pytest.raises(TwilioRestException) as err:
        client.calls.create(to="+14155550062", from_=FROM, twiml=twiml(4001))
    assert (err.value.status, err.value.code) == (400, 32018)
    assert "4000 characters" in err.value.msg
    assert [c["to"] for c in sb.calls()] == ["+14155550060", "+14155550061"]
