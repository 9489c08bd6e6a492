import pytest

from outcall_provider.rules.phone import InvalidPhone, mask_phone, normalize_phone


@pytest.mark.parametrize("raw, region, e164", [
    ("+14155550100", None, "+14155550100"),
    ("  +1 (415) 555-0100 ", None, "+14155550100"),
    ("+1.415.555.0100", "GB", "+14155550100"),  # '+' wins over default_region
    ("(415) 555-0100", "US", "+14155550100"),
    ("415/555 0100", "US", "+14155550100"),
    ("+351 912 345 678", None, "+351912345678"),
    ("912-345-678", "PT", "+351912345678"),
    ("020 7946 0018", "GB", "+442079460018"),  # national trunk 0 dropped
    ("06 12345678", "NL", "+31612345678"),
    ("02 1234 5678", "IT", "+390212345678"),  # Italian leading zero kept
    ("+39 06 6982 1234", None, "+390669821234"),
    ("0011 61 2 9374 4000", "AU", "+61293744000"),  # international dialling prefix
])
def test_normalize(raw, region, e164):
    assert normalize_phone(raw, region) == e164


@pytest.mark.parametrize("raw, region, reason", [
    ("", None, "empty"),
    ("   ", "US", "empty"),
    ("hello", "US", "not a number"),
    ("4155550100", None, "national number without default_region"),
    ("(415) 555-0100", None, "national number without default_region"),
    ("415555010", "US", "invalid number for region US"),
    ("+1 415 555 010", None, "invalid number for region US"),
    ("+44 20 7946 001", None, "invalid number for region GB"),
    ("+999 1234 5678", None, "unknown country code"),
    ("4155550100", "XX", "unknown default_region XX"),
    ("+1 415 555 0100 1234 5678 9012 3456", None, "too long"),
    ("+1 415 555 0100 ext. 12", None, "extensions are not supported"),
])
def test_invalid(raw, region, reason):
    with pytest.raises(InvalidPhone) as e:
        normalize_phone(raw, region)
    assert e.value.reason == reason
    assert isinstance(e.value, ValueError)


def test_mask_keeps_last_four_digits():
    assert mask_phone("+14155550100") == "+*******0100"
    assert mask_phone("+351912345678") == "+********5678"
    assert mask_phone("+123") == "+123"
    assert mask_phone("") == ""
