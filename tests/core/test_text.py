"""Folding and synonym mapping: the text steps every question and every phrasing goes through."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import text
from bot.core.text import Synonyms, fold, fold_words, stem


def test_ascii_and_unicode_paths_separate_words_alike() -> None:
    # ASCII text takes a translation table, other text the regular expression: they must agree
    # on every ASCII character (apostrophes aside: they are dropped, not separators).
    for code in range(128):
        typed = f"x{chr(code)}y"
        if chr(code) not in "'`":
            assert fold_words(typed) == text._NON_WORD.sub(" ", typed.lower()).split(), typed


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("Who's Nan-young's MOM?!", ["who", "nan", "young", "mom"]),
        ("what__is\tthe  end...", ["what", "is", "the", "end"]),
        ("Ça va, été 2050", ["ca", "va", "ete", "2050"]),
        ("jay\u200bs song", ["jays", "song"]),
        ("", []),
    ],
)
def test_fold_words(typed: str, words: list[str]) -> None:
    assert fold_words(typed) == words
    assert fold(typed) == " ".join(words)


@given(st.text(alphabet=string.printable, max_size=40) | st.text(max_size=40))
def test_folded_words_are_plain_and_fold_again_to_themselves(typed: str) -> None:
    words = fold_words(typed)
    assert all(word and not any(ch.isspace() or ch in "'_" for ch in word) for word in words)
    assert fold_words(fold(typed)) == words


# Pieces that read across a line if anything can: links, mentions, possessives, newlines.
_PIECES = st.sampled_from(["'s", "s'", "http://x.io/a", "<@12>", "@here", "\n", "\x00", " ", "é"])


@given(st.lists(st.text(alphabet=string.printable, max_size=12) | _PIECES, max_size=6), st.data())
def test_texts_folded_together_fold_as_each_alone(pieces: list[str], data: st.DataObject) -> None:
    # The index folds a fact's texts in one pass; each must come out as if folded alone.
    texts = ["".join(data.draw(st.permutations(pieces))) for _ in range(3)] + pieces
    alone = [word for typed in texts for word in (*fold_words(typed), text.LINE_END)]
    assert text.fold_lines(texts) == alone


def test_synonyms_take_the_longest_variant_at_each_place() -> None:
    table = Synonyms(
        {
            "nanyoung": ["nan young", "nan-young"],
            "youngmi": ["young mi"],
            "mission": ["mars mission", "the mars mission"],
            "mars": ["red planet"],
        }
    )
    words = fold_words("did the mars mission take nan young and young mi")
    assert table.apply(words) == ["did", "mission", "take", "nanyoung", "and", "youngmi"]
    assert table.apply(fold_words("mars mission on the red planet")) == [
        "mission",
        "on",
        "the",
        "mars",
    ]
    # Variants match by stems, and a possessive without its apostrophe still maps.
    assert table.apply(fold_words("nan youngs missions")) == ["nanyoung", "mission"]
    # A variant cut short by the end of the question is not a match.
    assert table.apply(fold_words("the mars")) == ["the", "mars"]


def test_stems_are_remembered_within_a_bound() -> None:
    assert stem("survives") == stem("surviving") == "surviv"
    remembered = stem.__self__  # the dict behind stem()
    for n in range(70_000):  # words a flood of questions could type
        stem(f"zq{n}ings")
    assert len(remembered) <= 65_536
    assert stem("stopped") == "stop"
