"""The people directory (``UserStore.directory``): one behaviour, every engine.

Each test runs on SQLite and on MongoDB (the mongomock double unless
HUB_TEST_MONGODB_URL is set). Case-insensitivity is checked on ASCII letters
only: beyond them the engines differ, as ``DirectoryQuery`` says.
"""

from __future__ import annotations

import pytest

from storage.interfaces import Store
from storage.records import BlockRecord, DirectoryQuery, UserRecord

T0 = "2024-01-01T00:00:00+00:00"
VIEWER = "v0"


async def person(
    store: Store,
    user_id: str,
    display_name: str,
    *,
    headline: str = "",
    skills: list[str] | None = None,
    role: str = "freelancer",
    email: str | None = None,
) -> None:
    await store.users.create(
        UserRecord(
            id=user_id,
            email=email or f"{user_id}@example.com",
            password_hash="hash",
            display_name=display_name,
            role=role,
            created_at=T0,
            updated_at=T0,
            headline=headline,
            skills=skills or [],
        )
    )


async def found(
    store: Store,
    *words: str,
    role: str | None = None,
    skills: list[str] | None = None,
    after: tuple[str, str] | None = None,
    limit: int = 100,
    viewer: str = VIEWER,
) -> list[str]:
    """The ids the directory lists for ``viewer``, in its order."""
    query = DirectoryQuery(viewer_id=viewer, words=list(words), role=role, skills=skills or [])
    return [user.id for user in await store.users.directory(query, after=after, limit=limit)]


@pytest.fixture
async def people(store: Store) -> Store:
    await person(store, VIEWER, "Viewer Vera", headline="Python developer", skills=["Python"])
    await person(
        store,
        "u1",
        "Ada Lovelace",
        headline="Analytical engines",
        skills=["Python", "Mathematics"],
        email="countess@numbers.example",
    )
    await person(store, "u2", "Grace Hopper", headline="Compilers and COBOL", skills=["COBOL"])
    await person(store, "u3", "Linus", headline="Kernel hacker", skills=["C", "Git"], role="client")
    return store


async def test_a_word_matches_the_name_the_headline_or_a_skill(people: Store) -> None:
    assert await found(people, "lovelace") == ["u1"]  # display name
    assert await found(people, "COMPILERS") == ["u2"]  # headline
    assert await found(people, "mathem") == ["u1"]  # part of a skill
    assert await found(people, "git") == ["u3"]


async def test_every_word_must_match_somewhere(people: Store) -> None:
    # "ada" in the name, "python" in the skills: both somewhere, so found.
    assert await found(people, "ada", "python") == ["u1"]
    assert await found(people, "ada", "cobol") == []
    assert await found(people, "grace", "hopper", "cobol") == ["u2"]


async def test_email_is_never_searched(people: Store) -> None:
    assert await found(people, "countess") == []
    assert await found(people, "numbers.example") == []
    assert await found(people, "example.com") == []
    assert await found(people, "@") == []


async def test_no_words_lists_everyone_else_by_name(people: Store) -> None:
    assert await found(people) == ["u1", "u2", "u3"]


async def test_the_viewer_is_never_listed(people: Store) -> None:
    assert await found(people, "python") == ["u1"]  # Vera has it too
    assert await found(people, "vera") == []
    assert await found(people, "vera", viewer="u1") == [VIEWER]


async def test_role_keeps_one_role(people: Store) -> None:
    assert await found(people, role="client") == ["u3"]
    assert await found(people, role="freelancer") == ["u1", "u2"]
    assert await found(people, role="admin") == []
    assert await found(people, "ada", role="client") == []


async def test_skills_must_all_be_there_whole_in_any_case(people: Store) -> None:
    assert await found(people, skills=["python"]) == ["u1"]
    assert await found(people, skills=["PYTHON", "mathematics"]) == ["u1"]
    assert await found(people, skills=["python", "cobol"]) == []
    assert await found(people, skills=["pyth"]) == []  # whole skills, not parts
    assert await found(people, skills=["c"]) == ["u3"]  # not COBOL's "C"
    assert await found(people, "grace", skills=["cobol"]) == ["u2"]


async def test_blocks_hide_both_ways(people: Store) -> None:
    await people.blocks.add(BlockRecord(VIEWER, "u1", T0))  # the viewer blocked Ada
    await people.blocks.add(BlockRecord("u2", VIEWER, T0))  # Grace blocked the viewer
    await people.blocks.add(BlockRecord("u1", "u3", T0))  # not the viewer's business
    assert await found(people) == ["u3"]
    assert await found(people, "lovelace") == []
    assert await found(people, "hopper") == []
    # Each blocked side does not see the viewer either, and still sees the others.
    assert await found(people, viewer="u1") == ["u2"]
    assert await found(people, viewer="u2") == ["u1", "u3"]
    await people.blocks.remove(VIEWER, "u1")
    assert await found(people) == ["u1", "u3"]


async def test_like_wildcards_and_regex_characters_are_literal(store: Store) -> None:
    await person(store, VIEWER, "Viewer")
    await person(store, "u1", "a_b")
    await person(store, "u2", "axb")
    await person(store, "u3", "100% sure", skills=["C++"])
    await person(store, "u4", "100 x sure", headline="back\\slash (yes)")
    assert await found(store, "a_b") == ["u1"]
    assert await found(store, "_") == ["u1"]
    assert await found(store, "%") == ["u3"]
    assert await found(store, "100%") == ["u3"]
    assert await found(store, "c++") == ["u3"]
    assert await found(store, "+") == ["u3"]
    assert await found(store, "\\") == ["u4"]
    assert await found(store, "(yes)") == ["u4"]
    assert await found(store, ".*") == []
    assert await found(store, skills=["c++"]) == ["u3"]
    assert await found(store, skills=[".*"]) == []


async def test_ordered_by_display_name_then_id_in_code_point_order(store: Store) -> None:
    await person(store, VIEWER, "Viewer")
    await person(store, "u3", "Sam")
    await person(store, "u1", "Sam")
    await person(store, "u2", "bob")
    await person(store, "u4", "Alice")
    await person(store, "u5", "Élodie")
    # Capitals before lower case, both before letters beyond ASCII; equal names by id.
    assert await found(store) == ["u4", "u1", "u3", "u2", "u5"]


async def test_pages_follow_the_key_after(store: Store) -> None:
    await person(store, VIEWER, "Zed")
    names = ["Kim", "Kim", "Kim", "Lee", "Ann", "Bo"]
    for number, name in enumerate(names, start=1):
        await person(store, f"u{number}", name, headline="designer")
    everyone = await found(store, "designer")
    assert everyone == ["u5", "u6", "u1", "u2", "u3", "u4"]
    pages: list[list[str]] = []
    after: tuple[str, str] | None = None
    while True:
        page = await found(store, "designer", after=after, limit=2)
        if not page:
            break
        pages.append(page)
        last = await store.users.get(page[-1])
        assert last is not None
        after = (last.display_name, last.id)
    assert pages == [["u5", "u6"], ["u1", "u2"], ["u3", "u4"]]
    # A key between two users with the same name: the page starts at the next id.
    assert await found(store, after=("Kim", "u1")) == ["u2", "u3", "u4"]
    # A key that is no user's: the page starts at the next key all the same.
    assert await found(store, after=("Bz", "")) == ["u1", "u2", "u3", "u4"]


async def test_limit_caps_a_page(people: Store) -> None:
    assert await found(people, limit=1) == ["u1"]
    assert await found(people, limit=2) == ["u1", "u2"]
