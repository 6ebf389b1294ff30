"""Typo correction: one slip in any word, several in long ones, and names typed in two parts."""

from __future__ import annotations

import pytest

from bot.core.matcher import Matcher
from bot.core.model import Fact, Tier, Work
from bot.core.text import Speller

SPELLER = Speller(["yeon", "hyun", "starlight", "director", "young", "cave", "mother"])


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("eyon", "yeon"),  # first two letters swapped
        ("hyin", "hyun"),  # one wrong letter in a short word
        ("yon", "yeon"),  # one dropped
        ("caave", "cave"),  # one doubled
        ("starlite", "starlight"),  # several slips in a long word
        ("directer", "director"),
    ],
)
def test_slips_are_corrected(typed: str, meant: str) -> None:
    assert SPELLER.correct(typed) == meant


@pytest.mark.parametrize("typed", ["inception", "yxyz", "hyxz", "sharknado"])
def test_unrelated_words_are_left_alone(typed: str) -> None:
    assert SPELLER.correct(typed) is None


TIER = Tier("premise", "Premise", "the setup", 0)


def _matcher(*names: str, facts: dict[str, tuple[str, str]]) -> Matcher:
    """A one-tier work: `names` in 'jae-tae' form (each gets the usual spellings), and facts
    as id -> (answer, question)."""
    synonyms = {n.replace("-", ""): (n, n.replace("-", " ")) for n in names}
    made = tuple(Fact(i, TIER, a, (q,), ()) for i, (a, q) in facts.items())
    return Matcher(Work("w", "W", (), (TIER,), made, {}, synonyms))


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("what does je tae want", "goal"),  # a slip in one part of a two-part name
        ("what does jae-tea want", "goal"),
        ("what is min wno's rank", "rank"),
    ],
)
def test_names_in_two_parts_are_corrected_as_one(question: str, fact: str) -> None:
    matcher = _matcher(
        "jae-tae",
        "min-won",
        facts={
            "goal": ("Jae-tae wants the compass.", "what does jae-tae want"),
            "rank": ("Min-won leads the guard.", "what is min-won's rank"),
        },
    )
    result = matcher.ask(question)
    assert result.match is not None and result.match.fact.id == fact


def test_a_slip_is_not_joined_to_the_first_part_of_the_next_name() -> None:
    # "jen gyu-ho": joining "jen" + "gyu" would read "jin-gyu" and leave "ho" stranded.
    matcher = _matcher(
        "jin-gyu",
        "gyu-ho",
        facts={
            "a": ("Jin-gyu keeps the map.", "what does jin-gyu keep"),
            "b": ("Jeon Gyu-ho keeps the lamp.", "what does jeon gyu-ho keep"),
        },
    )
    assert matcher.query("what does jen gyu-ho keep").text == "what does jen gyuho keep"
    assert matcher.ask("what does jen gyu-ho keep").ranked[0].fact.id == "b"


@pytest.mark.parametrize(("place", "fact"), [("ivory tower", "jun"), ("namsan tower", "jin")])
def test_equally_close_corrections_are_told_apart_by_the_rest_of_the_question(
    place: str, fact: str
) -> None:
    # "jyn-sung" is one slip from both "jin-sung" and "jun-sung".
    matcher = _matcher(
        "jin-sung",
        "jun-sung",
        facts={
            "jin": ("Jin-sung lives in Namsan Tower.", "where does jin-sung live"),
            "jun": ("Jun-sung lives in Ivory Tower.", "where does jun-sung live"),
        },
    )
    assert matcher.ask(f"does jyn-sung live in {place}").ranked[0].fact.id == fact
