"""Named publishers and their secrets (the app's login when no single sign-on is set up)."""

import pytest

from policies.publishers import authenticate, parse_publishers


def test_pairs_are_parsed():
    assert parse_publishers("ana:secret-of-ana, ben:secret:with:colons") == {
        "ana": "secret-of-ana",
        "ben": "secret:with:colons",
    }
    assert parse_publishers(None) == {} and parse_publishers("") == {}


@pytest.mark.parametrize("text", ["justasecret", ":secret-nobody", "ana:short"])
def test_bad_configuration_is_refused(text):
    with pytest.raises(ValueError):
        parse_publishers(text)


def test_only_the_right_name_and_secret_authenticate():
    publishers = parse_publishers("ana:secret-of-ana,ben:secret-of-ben")
    assert authenticate(publishers, "ana", "secret-of-ana") == "ana"
    assert authenticate(publishers, " ben ", "secret-of-ben") == "ben"
    assert authenticate(publishers, "ana", "secret-of-ben") is None
    assert authenticate(publishers, "eve", "secret-of-ana") is None
    assert authenticate(publishers, "ana", "") is None
    assert authenticate({}, "ana", "secret-of-ana") is None
