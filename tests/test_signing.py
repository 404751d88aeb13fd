"""Signed URLs for the hub's file routes: valid until they expire, and
nothing in them can be changed."""

from __future__ import annotations

import pytest
from yarl import URL

from hub.files.signing import sign, verify

SECRET = b"file-url-secret-0123456789abcdef"
PATH = "/api/v1/files/01HZX3K5Q8"
EXPIRES = 1_700_000_300
NOW = 1_700_000_000
PARAMS = {"mime": "application/pdf", "disposition": 'attachment; filename="a&b=c.pdf"'}


def signed(path: str = PATH, params: dict[str, str] | None = None) -> URL:
    """The URL as a client gets it, parsed back as the hub's router would."""
    query = sign(path, EXPIRES, SECRET, PARAMS if params is None else params)
    return URL(f"http://hub.test{path}?{query}")


def test_a_signed_url_is_valid_until_it_expires() -> None:
    url = signed()
    assert url.query["mime"] == "application/pdf"
    assert url.query["disposition"] == PARAMS["disposition"]  # survives the URL
    assert verify(url.path, url.query, SECRET, NOW)
    assert verify(url.path, url.query, SECRET, EXPIRES - 0.001)
    assert not verify(url.path, url.query, SECRET, EXPIRES)
    assert not verify(url.path, url.query, SECRET, EXPIRES + 3600)


def test_without_extra_parameters() -> None:
    url = signed(params={})
    assert set(url.query) == {"expires", "sig"}
    assert verify(url.path, url.query, SECRET, NOW)


def test_parameter_order_does_not_matter() -> None:
    query = dict(reversed(list(signed().query.items())))
    assert verify(PATH, query, SECRET, NOW)


def test_another_path_or_secret_is_refused() -> None:
    url = signed()
    assert not verify(PATH + "X", url.query, SECRET, NOW)
    assert not verify("/api/v1/files/01HZX3K5Q9", url.query, SECRET, NOW)
    assert not verify(PATH, url.query, b"another-secret", NOW)


@pytest.mark.parametrize(
    "change",
    [
        {"mime": "text/html"},
        {"disposition": "inline"},
        {"expires": str(EXPIRES + 86400)},
        {"sig": "A" * 43},
        {"sig": ""},
        {"sig": "\u00e9t\u00e9"},  # not ASCII: refused, not an error
        {"extra": "1"},
    ],
    ids=["mime", "disposition", "expires", "sig", "empty-sig", "non-ascii-sig", "added"],
)
def test_altered_or_added_parameters_are_refused(change: dict[str, str]) -> None:
    url = signed()
    assert not verify(url.path, {**url.query, **change}, SECRET, NOW)


@pytest.mark.parametrize("name", ["mime", "disposition", "expires", "sig"])
def test_a_removed_parameter_is_refused(name: str) -> None:
    query = dict(signed().query)
    del query[name]
    assert not verify(PATH, query, SECRET, NOW)


def test_a_repeated_parameter_is_refused() -> None:
    url = signed()
    repeated = url.extend_query(mime="text/html")
    assert repeated.query.getall("mime") == ["application/pdf", "text/html"]
    assert not verify(repeated.path, repeated.query, SECRET, NOW)


@pytest.mark.parametrize("expires", ["", "soon", "-1", "1e12", "\u0661\u0662"])
def test_an_unreadable_expiry_is_refused(expires: str) -> None:
    query = {**signed().query, "expires": expires}
    assert not verify(PATH, query, SECRET, NOW)


def test_reserved_names_and_an_empty_secret_are_refused_when_signing() -> None:
    with pytest.raises(ValueError):
        sign(PATH, EXPIRES, SECRET, {"sig": "mine"})
    with pytest.raises(ValueError):
        sign(PATH, EXPIRES, SECRET, {"expires": "later"})
    with pytest.raises(ValueError):
        sign(PATH, EXPIRES, b"")
