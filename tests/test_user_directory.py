"""``GET /users``: the people directory over real HTTP, on both storage engines.

The accounts are registered as ``<name>@example.com`` with ``<name>`` as display
name; the tests rename them where the email must not be what is found.
"""

from __future__ import annotations

from typing import Any

import pytest

from engines import ON_BOTH_ENGINES
from users import User, Users

pytestmark = ON_BOTH_ENGINES


async def profile(user: User, **changes: Any) -> dict[str, Any]:
    """``PATCH /users/me`` with ``changes``: the caller's private profile."""
    return await user.ok("PATCH", "/users/me", changes)


async def directory(user: User, **params: Any) -> dict[str, Any]:
    """One page of ``GET /users`` as ``user``."""
    return await user.ok("GET", "/users", params={k: str(v) for k, v in params.items()})


async def names(user: User, **params: Any) -> list[str]:
    return [item["display_name"] for item in (await directory(user, **params))["items"]]


async def team(users: Users) -> tuple[User, User, User, User]:
    """The caller (vera) and three people with names, headlines and skills unlike
    their emails."""
    vera, zed, yan, xia = await users("vera", "zed", "yan", "xia")
    await profile(vera, display_name="Vera Viewer", skills=["Python"])
    await profile(
        zed, display_name="Ada Lovelace", headline="Analytical engines", skills=["Python", "Math"]
    )
    await profile(yan, display_name="Grace Hopper", headline="Compilers", skills=["COBOL"])
    await profile(xia, display_name="Linus", headline="Kernel hacker", skills=["C", "Git"])
    return vera, zed, yan, xia


async def test_finds_public_profiles_by_name_headline_and_skill(users: Users) -> None:
    vera, zed, *_ = await team(users)
    page = await directory(vera, q="lovelace")
    assert page["next_cursor"] is None
    # The public profile, exactly as GET /users/{id} shows it: no email.
    assert page["items"] == [await vera.ok("GET", f"/users/{zed.id}")]
    assert "email" not in page["items"][0]
    assert await names(vera, q="COMPILERS") == ["Grace Hopper"]  # headline
    assert await names(vera, q="git") == ["Linus"]  # a skill
    assert await names(vera, q="ada math") == ["Ada Lovelace"]  # every word, any field
    assert await names(vera, q="ada cobol") == []
    assert await names(vera, q="  ") == ["Ada Lovelace", "Grace Hopper", "Linus"]  # blank


async def test_never_by_email(users: Users) -> None:
    vera, *_ = await team(users)
    for q in ("zed", "zed@example.com", "example.com", "@"):
        assert await names(vera, q=q) == [], q


async def test_role_and_skills_filters(users: Users) -> None:
    vera, *_ = await team(users)
    (fay,) = await users("fay", role="freelancer")
    await profile(fay, display_name="Fay Python", skills=["Rust"])
    assert await names(vera, role="freelancer") == ["Fay Python"]
    assert await names(vera, q="python", role="client") == ["Ada Lovelace"]
    assert await names(vera, q="python") == ["Ada Lovelace", "Fay Python"]
    assert await names(vera, skills="python") == ["Ada Lovelace"]  # whole skills only
    assert await names(vera, skills="PYTHON, math") == ["Ada Lovelace"]
    assert await names(vera, skills="python,cobol") == []
    assert await names(vera, skills="pyth") == []


async def test_the_caller_is_not_listed(users: Users) -> None:
    vera, zed, *_ = await team(users)
    assert await names(vera, q="vera") == []
    assert await names(vera, q="python") == ["Ada Lovelace"]  # vera has Python too
    assert await names(zed, q="vera") == ["Vera Viewer"]


async def test_blocks_hide_both_ways(users: Users) -> None:
    vera, zed, yan, xia = await team(users)
    await vera.ok("POST", f"/users/{zed.id}/block")  # vera blocked Ada
    await yan.ok("POST", f"/users/{vera.id}/block")  # Grace blocked vera
    assert await names(vera) == ["Linus"]
    assert await names(vera, q="lovelace") == []
    assert await names(vera, q="hopper") == []
    assert await names(zed, q="vera") == []
    assert await names(yan, q="vera") == []
    assert await names(xia) == ["Ada Lovelace", "Grace Hopper", "Vera Viewer"]
    await vera.ok("DELETE", f"/users/{zed.id}/block", status=204)
    assert await names(vera) == ["Ada Lovelace", "Linus"]


async def test_pages_with_the_cursor(users: Users) -> None:
    caller, *others = await users("caller", "p1", "p2", "p3", "p4", "p5")
    for user, name in zip(others, ["Kim", "Kim", "Ann", "Lee", "Bo"], strict=True):
        await profile(user, display_name=name, headline="designer")
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"q": "designer", "limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = await directory(caller, **params)
        pages += 1
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    kims = sorted(user.id for user in others[:2])
    assert seen == [others[2].id, others[4].id, *kims, others[3].id]


async def test_a_cursor_that_names_no_user_is_refused(users: Users) -> None:
    (caller,) = await users("caller")
    problem = await caller.fails(
        "GET",
        "/users",
        params={"cursor": "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA"},
        status=422,
        code="validation_failed",
    )
    assert [f["field"] for f in problem["details"]["fields"]] == ["cursor"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"q": "x" * 101}, "q"),
        ({"role": "pirate"}, "role"),
        ({"skills": ",".join(f"s{n}" for n in range(51))}, "skills"),
        ({"cursor": "not a cursor!"}, "cursor"),
        ({"email": "zed@example.com"}, "email"),
    ],
)
async def test_bad_queries_are_422(users: Users, params: dict[str, str], field: str) -> None:
    (caller,) = await users("caller")
    problem = await caller.fails(
        "GET", "/users", params=params, status=422, code="validation_failed"
    )
    assert field in {f["field"] for f in problem["details"]["fields"]}, problem
