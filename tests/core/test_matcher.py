"""Matcher decisions that no question set pins down on its own."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.matcher import ANSWER_WEIGHT, Matcher
from bot.core.model import Fact, Tier, Work

TIER = Tier("premise", "Premise", "the setup", 0)
FACTS = (
    Fact("voice", TIER, "Jay is voiced by Hong Kyung.", ("who voices jay", "jay voice actor"), ()),
    Fact(
        "band", TIER, "Jay's band is The Moles.", ("what is the band called", "the moles band"), ()
    ),
    Fact("place", TIER, "It is set in Seoul.", ("where is it set",), ("seoul", "korea")),
)
MATCHER = Matcher(Work("w", "Starlight", ("the film",), (TIER,), FACTS, {}, {}))


@pytest.mark.parametrize(
    "question",
    [
        "who voices jay in frozen",  # a title the work never mentions
        "whats the band called in school of rock",
        "who voices jay in english",  # a dub the facts say nothing about
        "where is it set in real life",
    ],
)
def test_a_question_placed_in_something_else_is_declined(question: str) -> None:
    result = MATCHER.ask(question)
    assert not result.answered
    assert result.ranked  # still ranked: the suggestions come from there


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("who voices jay in the film", "voice"),  # the work itself
        ("who voices jay in starlight", "voice"),
        ("what is the band called in seoul", "band"),  # a place of the work
        ("where is it set in", "place"),  # nothing after "in"
    ],
)
def test_in_followed_by_the_works_own_words_still_answers(question: str, fact: str) -> None:
    result = MATCHER.ask(question)
    assert result.match is not None and result.match.fact.id == fact


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        # "smth" unexpanded is a word no English list has, which weighs like a film title.
        ("does smth happen to jay", "does something happen to jay"),
        ("was jay in the music biz", "was jay in the music business"),
        ("who is in the band w jay", "who is in the band with jay"),
        ("what yr is it set in", "what year is it set in"),
        ("jay got kicked out of the band whyyy", "jay got kicked out of the band why"),
        ("i heard that jay dies", "jay dies"),  # the claim checked, not a question about hearing
        ("is it true that jay dies", "jay dies"),
    ],
)
def test_chat_abbreviations_are_not_read_as_rare_words(typed: str, meant: str) -> None:
    assert MATCHER.query(typed).content == MATCHER.query(meant).content


@pytest.mark.parametrize(
    "question",
    [
        "who voices jay right",  # a check, not a question about what is right
        "who voices jay correct",
        "who voices jay i think",
        "who voices jay or something",
        "who voices jay ngl",  # an aside, not a question about lying
        "tbh who voices jay",
    ],
)
def test_check_words_and_asides_are_not_the_subject(question: str) -> None:
    assert MATCHER.query(question).content == MATCHER.query("who voices jay").content


def test_a_check_word_inside_the_question_is_kept() -> None:
    assert "right" in MATCHER.query("the right voice for jay").content
    assert MATCHER.query("right").content  # nothing else to ask about


def test_a_marker_group_declines_even_when_its_word_is_common_english() -> None:
    # "formation" is ordinary English, but no fact uses it: the group exists to say no.
    synonyms = {"formation": ("form", "forms", "formed")}
    matcher = Matcher(Work("w", "Starlight", (), (TIER,), FACTS, {}, synonyms))
    assert not matcher.ask("how was the moles band formed").answered
    assert matcher.ask("what is the band called").answered


def test_fillers_do_not_spoil_a_question_that_is_all_shape() -> None:
    about = Fact("about", TIER, "Two leads, one song.", ("what is it about",), ())
    matcher = Matcher(Work("w", "Starlight", (), (TIER,), (*FACTS, about), {}, {}))
    for question in ("what is it about", "what is it even about lol", "ok so what is it about"):
        result = matcher.ask(question)
        assert result.match is not None and result.match.fact.id == "about", question
    assert not matcher.ask("what is it even").answered


def test_the_fact_asked_about_is_shortlisted_among_many_sharing_the_word() -> None:
    # Every fact mentions the cave, so stage 1 alone cannot tell them apart; the one whose
    # phrasings keep asking about the cave comes last in the file, behind the shortlist size.
    others = tuple(
        Fact(f"other-{k}", TIER, f"Thing {k}.", (f"what is thing {k}", f"{k} in the cave"), ())
        for k in range(8)
    )
    escape = Fact(
        "escape",
        TIER,
        "Her team gets her out.",
        ("does she get out of the cave", "how does she leave the cave", "who finds her in a cave"),
        (),
    )
    work = Work("w", "Starlight", (), (TIER,), (*others, escape), {}, {})
    ranked = Matcher(work).ask("does she ever get out of the cave").ranked
    assert ranked and ranked[0].fact.id == "escape"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("is it sad yes or no", "is it sad"),  # the longest tag, not "no" alone
        ("jay dies right guys", "jay dies"),
        ("she survives isnt she right", "she survives"),  # tags after tags
    ],
)
def test_check_words_at_the_end_are_dropped(typed: str, meant: str) -> None:
    assert MATCHER.query(typed).text == MATCHER.query(meant).text


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("the band is called the beatles right", "band"),
        ("jay is voiced by some american guy isnt he", "voice"),
    ],
)
def test_a_wrong_detail_checked_with_a_tag_gets_the_true_fact(question: str, fact: str) -> None:
    result = MATCHER.ask(question)
    assert result.match is not None and result.match.fact.id == fact


def test_an_unknown_word_without_a_tag_still_counts_in_full() -> None:
    assert not MATCHER.ask("the band is called the beatles").answered


def test_a_question_asking_for_a_name_needs_a_fact_that_gives_one() -> None:
    band = Fact("band", TIER, "The band is The Moles.", ("what is the band's name",), ())
    dad = Fact(
        "dad",
        TIER,
        "Her dad sends radio messages.",
        ("what does her dad do", "what is her dad's job", "what does her dad send"),
        (),
    )
    matcher = Matcher(Work("w", "Starlight", (), (TIER,), (band, dad), {}, {}))
    assert matcher.ask("what does her dad do all day").answered
    unknown = matcher.ask("what is her dad's name")
    assert not unknown.answered and unknown.ranked[0].fact.id == "dad"
    named = matcher.ask("what is the band called")  # "name" and "called" ask for the same
    assert named.match is not None and named.match.fact.id == "band"


def test_a_one_word_question_weighs_more_of_the_facts_that_share_its_word() -> None:
    # Ten facts use "cave" in a phrasing as often as the one asked about: all tie in stage 1.
    others = tuple(
        Fact(f"other-{k}", TIER, f"Thing {k}.", (f"what is thing {k}", f"{k} in the cave"), ())
        for k in range(9)
    )
    rescue = Fact("rescue", TIER, "Her team gets her out.", ("who gets her out", "the cave"), ())
    work = Work("w", "Starlight", (), (TIER,), (*others, rescue), {}, {})
    ranked = Matcher(work).ask("who gets her out of the cave").ranked
    assert ranked and ranked[0].fact.id == "rescue"


@pytest.mark.parametrize(
    ("question", "fact"),
    [("did her mother die in 2030", "death"), ("is it set in 2031", "year")],
)
def test_a_wrong_year_is_a_detail_not_a_place_elsewhere(question: str, fact: str) -> None:
    facts = (
        Fact("death", TIER, "Her mother died in 2026.", ("how did her mother die",), ("2026",)),
        Fact("year", TIER, "It is set in 2050.", ("what year is it set in", "when is it set"), ()),
    )
    result = Matcher(Work("w", "Starlight", (), (TIER,), facts, {}, {})).ask(question)
    assert result.match is not None and result.match.fact.id == fact


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("is the band really called the moles", True),  # "the band": the story's band
        ("does jay really have a voice actor", True),  # a person of the work
        ("is it really set in seoul", True),  # "it": the film
        ("is the film really set in seoul", True),
        ("where is seoul really", False),  # the real city
        ("do voice actors really voice", False),
    ],
)
def test_really_without_anyone_or_anything_of_the_work_is_the_real_world(
    question: str, answered: bool
) -> None:
    work = Work("w", "Starlight", ("the film",), (TIER,), FACTS, {}, {}, people=("Jay",))
    assert Matcher(work).ask(question).answered == answered


def test_a_friend_saying_so_is_an_opening_too() -> None:
    assert MATCHER.query("my friend says jay dies").content == MATCHER.query("jay dies").content


def test_stage_one_in_python_and_in_numpy_shortlist_the_same_facts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Few postings are added up in Python, many with numpy: where both apply (within the
    # postings budget), they must rank the same facts in the same order with the same scores.
    from bench.questions import synthetic_mix
    from bench.synthetic import synthetic_work
    from bot.core import matcher as matcher_module

    work = synthetic_work(1500, 3)
    matcher = Matcher(work)
    compared = 0
    for question in [q.text for q in synthetic_mix(work, 300, 3)]:
        query = matcher.query(question)
        total = sum(
            len(matcher._postings[w].facts) for w in query.content if w in matcher._postings
        )
        if not query.content or total > matcher_module.POSTINGS_BUDGET:
            continue
        monkeypatch.setattr(matcher_module, "VECTORISE_FROM", 0)
        with_numpy = [(m.fact.id, m.score) for m in matcher._rank(query)]
        monkeypatch.setattr(matcher_module, "VECTORISE_FROM", 10**9)
        in_python = [(m.fact.id, m.score) for m in matcher._rank(query)]
        assert with_numpy == in_python, question
        compared += 1
    assert compared > 200


def test_a_facts_questions_are_indexed_each_on_its_own() -> None:
    # The index folds a fact's questions and answer in one pass: a name must not be read
    # across the end of one question into the next, and a question with no words stays empty.
    fact = Fact(
        "mom",
        TIER,
        "Young Nan's mother.",
        ("Who is Nan", "young mi's age?", "?!", "nan-young's mom"),
        (),
    )
    work = Work("w", "Starlight", (), (TIER,), (fact,), {}, {"nanyoung": ("nan young",)})
    matcher = Matcher(work)
    assert matcher._phrasings == [["who is nan", "young mi age", "", "nanyoung mom"]]
    asked = dict.fromkeys(["nan", "young", "mi", "age", "nanyoung", "mom"], 1.0)
    assert matcher._keys[0] == {**asked, "mother": ANSWER_WEIGHT}


def test_comparing_only_what_matters_decides_as_the_whole_ranking_would() -> None:
    # ask() leaves out of stage 2 the facts that cannot come within the margin of the best:
    # its answer must be the one the whole ranking gives, and a declined question must get
    # the whole ranking (the suggestions come from it).
    from bot.config import DEFAULT_FACTS_DIR
    from bot.core.loader import load_works
    from tests.core.test_matching_quality import DATA, SAMPLE
    from tests.quality import load_items

    matcher = Matcher(load_works([DEFAULT_FACTS_DIR])[0])
    questions = [item["q"] for name in ("heldout-2.yaml", "heldout-30.yaml")
                 for item in load_items(DATA / name)]  # fmt: skip
    questions += [item["q"] for item in load_items(SAMPLE)]
    left_out = 0
    for question in questions:
        result = matcher.ask(question)
        whole = matcher._rank(matcher.query(question), 5)
        decided = matcher._decide(matcher.query(question), whole)
        assert (result.match and result.match.fact.id) == (decided and decided.fact.id), question
        if result.match is None:
            assert result.ranked == tuple(whole), question
        else:
            assert result.ranked[0] == whole[0], question
            left_out += len(result.ranked) < len(whole)
    assert left_out > len(questions) / 4  # and it does leave facts out


def test_a_fact_whose_phrasings_are_all_far_longer_is_not_compared() -> None:
    # Both facts are about Jay, so coverage cannot tell them apart; but no phrasing of the
    # second is short enough to come close to "who is jay": stage 2 does not even look at it.
    short = Fact("who", TIER, "Jay is a mechanic.", ("who is jay", "jay?"), ())
    long = Fact(
        "job",
        TIER,
        "He repairs audio gear.",
        ("what does jay do for a living in the city these days", "how does jay earn money now"),
        (),
    )
    matcher = Matcher(Work("w", "Starlight", (), (TIER,), (short, long), {}, {}))
    compare, looked_at = matcher._compare, []

    def spy(shortlist: Any, facts: list[int], *reach: float) -> None:
        looked_at.extend(facts)
        compare(shortlist, facts, *reach)

    matcher._compare = spy  # type: ignore[method-assign]
    result = matcher.ask("who is jay")
    assert result.match is not None and result.match.fact.id == "who"
    assert looked_at == [0]
    whole = matcher._rank(matcher.query("who is jay"))
    assert [m.fact.id for m in whole] == ["who", "job"]


def test_a_fact_whose_closest_phrasing_is_too_unlike_gets_no_token_set_ratio() -> None:
    # The second fact has phrasings as long as the question, but even its closest one is too
    # unlike "who is jay" for a perfect token-set ratio to bring it within the margin.
    who = Fact("who", TIER, "A mechanic.", ("who is jay", "tell me who jay is please"), ())
    job = Fact("job", TIER, "He repairs audio gear.", ("jay at work", "jay's job?"), ())
    matcher = Matcher(Work("w", "Starlight", (), (TIER,), (who, job), {}, {}))
    result = matcher.ask("who is jay")
    assert result.match is not None and result.match.fact.id == "who"
    assert [m.fact.id for m in result.ranked] == ["who"]
    # Declined ("zebra" is nowhere in the work), the question gets the whole ranking: the fact
    # left out at first is compared from the plain ratios kept for it.
    declined = matcher.ask("who is jay zebra")
    assert declined.match is None
    assert declined.ranked == tuple(matcher._rank(matcher.query("who is jay zebra")))


def test_a_question_of_everyday_words_only_is_ranked_by_its_shape() -> None:
    # "time" says too little to find facts by: "what time is it" looks like "what year is it",
    # and is not about the flight because that fact happens to use the word.
    when = Fact("when", TIER, "In 2050.", ("when is it set", "what year is it"), ())
    flight = Fact("flight", TIER, "Six months.", ("how much time does the flight take",), ())
    matcher = Matcher(Work("w", "Starlight", (), (TIER,), (when, flight), {}, {}))
    result = matcher.ask("what time is it")
    assert result.match is None  # not nearly one of the phrasings
    assert [m.fact.id for m in result.ranked] == ["when"]
    assert matcher.ask("what year is it").match is not None


def test_a_slipped_name_typed_as_a_possessive_without_apostrophe_is_found() -> None:
    # "jea-taes brother": the name has a slip and the possessive lost its apostrophe.
    brother = Fact("brother", TIER, "Jae-tae has no brother.", ("who is jae-tae's brother",), ())
    other = Fact("sister", TIER, "Mi-rae's sister is Bo-ra.", ("who is mi-rae's sister",), ())
    table = {"jaetae": ("jae tae",), "mirae": ("mi rae",)}
    matcher = Matcher(Work("w", "Starlight", (), (TIER,), (brother, other), {}, table))
    for question in ("who is jea-taes brother", "who is jea-tae's brother"):
        result = matcher.ask(question)
        assert result.match is not None and result.match.fact.id == "brother", question
