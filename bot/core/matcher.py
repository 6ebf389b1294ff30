"""Question matching: an index built once per work, queried with rapidfuzz.

A question is folded (case, punctuation, apostrophes), its typos are corrected against the
work's vocabulary, and name spellings are mapped to one token. Each candidate fact is then scored
on two things: how much of the question's meaning (its content words, weighted by rarity) the
fact accounts for, and how similar the question is to the fact's own phrasings. Requiring both
is what lets the matcher say no to "who directed inception": the shape matches a fact, but the
rarest word of the question is nowhere in the work.
"""

from __future__ import annotations

import gc
import math
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from rapidfuzz import fuzz, process, utils

from bot.core.model import Fact, Tier, Work
from bot.core.text import (
    FILLERS,
    LINE_END,
    PRONOUNS,
    REALITY,
    STOPWORDS,
    Speller,
    Synonyms,
    content_stem,
    drop_prefaces,
    drop_tags,
    english_table,
    expand_chat,
    fold,
    fold_lines,
    fold_words,
    stem,
)

MAX_QUESTION = 300  # characters considered; longer input is cut, not rejected
TYPO_CUTOFF = 80  # rapidfuzz ratio for a word to count as a misspelling of a known one
COMMON_ZIPF = 3.0
# Words that say what kind of answer is wanted ("what's the dad's name"): a fact answers such a
# question only if its own phrasings ask for that too, not if its answer merely uses the word.
ASKS_FOR = (
    frozenset({"name", "title", "call"}),
    frozenset({"voice"}),
    frozenset({"cost", "money", "budget"}),
)
# In a statement checked with a tag ("it's a horror movie right"), a word the work never uses is
# most likely the detail being checked, and wrong: it weighs this much of what it would.
CHECK_UNKNOWN = 0.1
ANSWER_WEIGHT = 0.6  # how much a word of a fact's answer counts, against its questions' words
SHORTLIST = 5  # facts scored in full for each question
# A question with one content word ("who gets her out of the cave") ties every fact that uses
# it in stage 1: more of them are scored, and such short questions are cheap to score.
SHORTLIST_ONE_WORD = 10
TIE_BREAK = 0.05  # how much the share of a fact's phrasings using a word adds in stage 1
SHARE_STEPS = 64  # shares are rounded to this fraction: see the postings below
POSTINGS_BUDGET = 2000  # postings read per question to find candidates
VECTORISE_FROM = 512  # postings per question from which stage 1 adds them up with numpy
CLOSEST = 3  # phrasings per shortlisted fact compared with the token-set ratio
CLOSEST_ONE_WORD = 2  # ... for a one-word question, whose phrasings differ little in that ratio
KNOWN_FLOOR, KNOWN_SPAN = 0.4, 7
PART_WEIGHT = 0.5  # a part of a compound name ("tae" of "jae-tae"), against the whole name


# The types made for every question are not frozen: a frozen dataclass costs four times as much
# to make, and each question makes several. Nothing changes them once made.
@dataclass(slots=True)
class Match:
    """A fact and how well it answers the question (0..1)."""

    fact: Fact
    score: float
    coverage: float
    similarity: float


@dataclass(slots=True)
class Result:
    """The outcome of matching one question: the answer if confident, and the ranking."""

    question: str
    match: Match | None
    ranked: tuple[Match, ...]  # see Matcher.ask

    @property
    def answered(self) -> bool:
        """True when the bot is confident enough to answer with `match`."""
        return self.match is not None


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Calibrated on held-out questions; see tests/core/test_matching_quality.py."""

    score: float = 0.6
    coverage: float = 0.3
    similarity: float = 0.5  # the question must look like some phrasing, not only share words
    margin: float = 0.01
    sure: float = 0.8  # a score this high needs no margin over the runner-up
    coverage_weight: float = 0.7
    # A question with no content words ("what is it about") has nothing to weigh; one whose
    # words are all everyday English ("what time is it") has little. Either is ranked by its
    # shape alone, and answered only when it is nearly one of the phrasings.
    shape_only: float = 0.9
    everyday: float = 6.0  # Zipf frequency from which a word counts as everyday English


@dataclass(frozen=True, slots=True)
class _Posting:
    """The facts whose keys hold a word (ascending), and the word's weight in each."""

    facts: np.ndarray
    weights: np.ndarray


@dataclass(slots=True)
class _Shortlist:
    """Stage 1's facts for one question, with their coverage; stage 2 adds their similarity."""

    text: str  # the question as the phrasings are written
    closest: int  # phrasings of each fact compared with the token-set ratio
    coverage: dict[int, float]  # by fact index, in stage 1's order
    similarity: dict[int, float]  # by fact index, for the facts compared so far
    # The closest phrasings by the plain ratio of facts whose token-set ratio was not needed.
    plain: dict[int, list[tuple[str, float, int]]]


@dataclass(slots=True)
class _Query:
    text: str
    content: tuple[str, ...]  # stems of the words that carry meaning
    zipfs: tuple[float, ...]  # how common each is in English (its most common surface form)
    elsewhere: bool = False  # it ends "in <something the work never mentions>"
    check: bool = False  # a statement checked with a tag ("jay dies right")


class Matcher:
    """Fuzzy question-to-fact index for one work, built once at load."""

    def __init__(self, work: Work, thresholds: Thresholds | None = None) -> None:
        self.work = work
        self.thresholds = thresholds or Thresholds()
        self._zipf = english_table()  # loaded now, not on the first question
        # The index is millions of small objects that live as long as the matcher: the cycle
        # collector would scan them again and again while they are made, for nothing.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._build(work)
        finally:
            if collecting:
                gc.enable()

    def _build(self, work: Work) -> None:
        table = dict(work.synonyms)
        table["film"] = (*table.get("film", ()), work.title, *work.aliases)
        self._synonyms = Synonyms(table)

        raw_words: set[str] = set(STOPWORDS) | self._synonyms.words()
        # A name's parts also point to its facts, more weakly: people split, swap or shorten
        # names ("jun ... eun", "tae-ri" for Kim Tae-ri).
        parts = {
            canonical: [stem(w) for w in folded.split() if w not in STOPWORDS]
            for canonical, variants in table.items()
            for folded in map(fold, variants)
            if " " in folded and folded.replace(" ", "") == canonical
        }
        self._phrasings: list[list[str]] = []
        # The shortest and longest phrasing of each fact: how alike a question of a given length
        # can be to any of them (see _compare_what_matters).
        self._spans: list[tuple[int, int]] = []
        self._keys: list[dict[str, float]] = []
        # Phrasings with at most one content word, for questions with none ("what is it
        # about"): only those can come close to such a question.
        self._shapes: list[str] = []
        self._shape_owners: list[int] = []
        # How many of a fact's phrasings use each word: among facts that share the question's
        # words, the one whose phrasings keep asking about them ranks first in stage 1.
        uses: list[dict[str, int]] = []
        shapes, owners, apply = self._shapes, self._shape_owners, self._synonyms.apply
        terms: dict[str, dict[str, float]] = {}  # the same terms come back in many facts
        for n, fact in enumerate(work.facts):
            # A fact's questions and answer at once: folded in one pass, synonyms found in one
            # walk (no variant reads across the end of a line), then split up again.
            words = fold_lines([*fact.questions, fact.answer])
            raw_words.update(words)
            canonical = apply(words)
            phrasings = []
            used: dict[str, int] = {}
            start = 0
            for _ in fact.questions:
                end = canonical.index(LINE_END, start)
                question, start = canonical[start:end], end + 1
                phrasing, content = " ".join(question), self._content(question)
                phrasings.append(phrasing)
                if len(content) <= 1:
                    shapes.append(phrasing)
                    owners.append(n)
                for word in content:
                    used[word] = used.get(word, 0) + 1
            keys = dict.fromkeys(used, 1.0)
            for term in fact.terms:
                term_keys = terms.get(term)
                if term_keys is None:
                    words = fold_words(term)
                    raw_words.update(words)
                    term_keys = terms[term] = dict.fromkeys(self._content(apply(words)), 1.0)
                keys.update(term_keys)
            # Words of the answer count, but less: they describe, they are not asked about.
            for word in self._content(canonical[start:-1]):  # the answer
                keys.setdefault(word, ANSWER_WEIGHT)
            if not parts.keys().isdisjoint(keys):
                for word, weight in list(keys.items()):
                    for part in parts.get(word, ()):
                        if keys.get(part, 0.0) < weight * PART_WEIGHT:
                            keys[part] = weight * PART_WEIGHT
            # Phrasings that fold to the same text would only be compared twice.
            self._phrasings.append(list(dict.fromkeys(phrasings)))
            lengths = list(map(len, phrasings))
            self._spans.append((min(lengths, default=0), max(lengths, default=0)))
            self._keys.append(keys)
            uses.append(used)

        raw_words.discard(LINE_END)
        self._speller = Speller(
            (w for w in raw_words if len(w) >= 3 and not w.isdigit()), cutoff=TYPO_CUTOFF
        )
        self._names = Speller((c for c in table if " " not in c and len(c) >= 5), cutoff=None)
        self._known = raw_words
        facts_of: dict[str, list[int]] = defaultdict(list)
        weights_of: dict[str, list[float]] = defaultdict(list)
        for i, keys in enumerate(self._keys):
            asked = max(1, len(self._phrasings[i]))
            used = uses[i]
            for word, weight in keys.items():
                uses_of_word = used.get(word)
                if uses_of_word is not None:  # else the share is 0: the weight as it is
                    # Rounded to 1/64: a finer share would only reorder facts as good as tied.
                    share = round(SHARE_STEPS * uses_of_word / asked) / SHARE_STEPS
                    weight *= 1.0 + TIE_BREAK * share
                facts_of[word].append(i)
                weights_of[word].append(weight)
        # Arrays, not lists of pairs: stage 1 adds up thousands of postings per question in a
        # few vectorised steps, and they take a sixth of the memory.
        self._postings = {
            word: _Posting(
                np.fromiter(ids, np.int32, len(ids)),
                np.fromiter(weights_of[word], np.float64, len(ids)),
            )
            for word, ids in facts_of.items()
        }
        self._index = {f.id: i for i, f in enumerate(work.facts)}
        # The film itself counts as someone of the work: "is the movie really animated".
        self._people = {"film"} | {
            w
            for name in work.people
            for w in self._synonyms.apply(fold_words(name))
            if w not in STOPWORDS
        }
        n = len(work.facts)
        self._idf = {w: math.log((n + 1) / (len(ids) + 0.5)) for w, ids in facts_of.items()}
        self._unknown_idf = math.log((n + 1) / 0.5)
        self._markers: set[str] = {
            c for c in table if " " not in c and stem(c) not in self._postings
        }

    @staticmethod
    def _content(words: list[str]) -> dict[str, None]:
        """The stems of the words that carry meaning, in order (words already canonical)."""
        return dict.fromkeys(filter(None, map(content_stem, words)))

    def _prepare(self, words: list[str]) -> _Query:
        """Canonical text and content stems of a question, with their English frequencies."""
        words = self._synonyms.apply(words)
        content: dict[str, float] = {}
        for word in words:
            if word not in STOPWORDS:
                root = stem(word)
                # A group's canonical word that no fact uses marks a question as about
                # something else ("filmography"): it weighs like the rarest word.
                zipf = 0.0 if word in self._markers else self._zipf.get(word, 0.0)
                if content.get(root, -1.0) < zipf:
                    content[root] = zipf
        return _Query(" ".join(words), tuple(content), tuple(content.values()))

    def _correct(self, words: list[str]) -> list[str]:
        """Replace words the work never uses by the nearest word it does (typos).

        A name typed in two parts with a slip in one of them ("je tae" for "jae-tae") is
        corrected as one word against the canonical names, when the part alone is not a
        correctable word.
        """
        # Words of the work in the question: when a slip has several equally close
        # corrections, the one that shares a fact with them is meant ("jyn-sung ... ivory
        # tower": the Jun-sung of Ivory Tower, not Jin-sung).
        known, zipf = self._known, self._zipf
        context = {stem(w) for w in words if w in known and w not in STOPWORDS}
        fixed = [
            word
            if word in known or word.isdigit() or zipf.get(word, 0.0) >= COMMON_ZIPF
            else self._correction(word, context) or word
            for word in words
        ]
        # Not a word of the work, and not corrected to one.
        unresolved = [w not in known and f == w for w, f in zip(words, fixed, strict=True)]
        if not any(unresolved):
            return fixed
        out = []
        i = 0
        while i < len(words):
            # The next word may begin a name of its own ("jen gyu ho": "gyu ho").
            if (
                i + 1 < len(words)
                and (unresolved[i] or unresolved[i + 1])
                and not (
                    i + 2 < len(words) and len(self._synonyms.apply(words[i + 1 : i + 3])) == 1
                )
            ):
                joined, second = words[i] + words[i + 1], words[i + 1]
                found = self._names.candidates(joined)
                # A possessive without its apostrophe: "nna-youngs mother" for Nan-young's.
                if not found and second.endswith("s") and second[:-1] in known:
                    found = self._names.candidates(joined[:-1])
                name = self._choose(found, context)
                if name is not None:
                    out.append(name)
                    i += 2
                    continue
            out.append(fixed[i])
            i += 1
        return out

    def _correction(self, word: str, context: set[str]) -> str | None:
        """The word of the work that a word neither the work nor everyday English uses stands
        for, if it is long enough to tell."""
        return self._choose(self._speller.candidates(word), context) if len(word) >= 4 else None

    def _choose(self, candidates: list[str], context: set[str]) -> str | None:
        """The candidate that appears in a fact with the most context words (first if tied)."""
        if len(candidates) <= 1:
            return candidates[0] if candidates else None

        def support(word: str) -> int:
            posting = self._postings.get(stem(word))
            if posting is None or len(posting.facts) > POSTINGS_BUDGET:
                return 0
            return max(len(context & self._keys[i].keys()) for i in posting.facts.tolist())

        return max(candidates, key=support)

    def query(self, question: str) -> _Query:
        """The question as the index sees it (exposed for tests and debugging)."""
        said = expand_chat(fold_words(question[:MAX_QUESTION]))
        asked = drop_tags(drop_prefaces(said))
        words = self._correct(asked)
        query = self._prepare(words)
        query.check = len(asked) < len(said)
        query.elsewhere = self._elsewhere(words) or self._real_world(said, query.text.split())
        return query

    def _real_world(self, said: list[str], words: list[str]) -> bool:
        """True for "can flowers really grow on mars": the real world, not the story.

        The question says "real", "really" or "actually" and names nobody of the work, no one
        by a pronoun, and nothing as "the <thing of the work>" ("the robot", "the story").
        """
        if REALITY.isdisjoint(said) or not self._people.isdisjoint(words):
            return False
        if not PRONOUNS.isdisjoint(words):
            return False
        return not any(
            a == "the" and b not in REALITY and stem(b) in self._postings
            for a, b in pairwise(words)
        )

    def _elsewhere(self, words: list[str]) -> bool:
        """True for "who voices elsa in frozen": the question places itself in another work.

        The last "in" of the question is followed by a few words that say where; when none of
        them is a word of this work (a title, "real life", a year), the question is about
        something else, however well the rest of it fits a fact.
        """
        if "in" not in words:
            return False
        where = words[len(words) - words[::-1].index("in") :]
        where = [w for w in where if w not in ("the", "a", "an")]
        if not 1 <= len(where) <= 4:
            return False
        # A year says when, not where: "did her mom die in 2030" is still about this work.
        content = [w for w in self._content(self._synonyms.apply(where)) if not _is_year(w)]
        return bool(content) and not any(w in self._postings for w in content)

    def ask(self, question: str, limit: int = 5) -> Result:
        """Rank the facts for `question` and decide whether the best one answers it.

        The ranking holds the facts compared in stage 2. When the question is answered, those
        that could not have come within the margin of the answer were not compared and are not
        in it; when it is declined, every shortlisted fact is, for the suggestions.
        """
        query = self.query(question)
        if self._shape_only(query):
            ranked = self._rank_by_shape(query)[:limit]
            return Result(question, self._decide(query, ranked), tuple(ranked))
        shortlist = self._shortlist(query)
        if shortlist is None:  # no word that any fact uses
            return Result(question, None, ())
        self._compare_what_matters(shortlist)
        ranked = self._ranking(shortlist, limit)
        match = self._decide(query, ranked)
        unseen = [i for i in shortlist.coverage if i not in shortlist.similarity]
        if match is None and unseen:
            self._compare(shortlist, unseen)
            ranked = self._ranking(shortlist, limit)
        return Result(question, match, tuple(ranked))

    def _decide(self, query: _Query, ranked: list[Match]) -> Match | None:
        """The best match if it answers the question with confidence, else None."""
        if not ranked:
            return None
        t = self.thresholds
        best = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        confident = (
            best.score >= t.score
            and best.coverage >= t.coverage
            and best.similarity >= t.similarity
        )
        if self._shape_only(query):
            confident = best.similarity >= t.shape_only
        if query.elsewhere:
            confident = False
        if not self._gives_what_is_asked(query, best.fact):
            confident = False
        if confident and (best.score >= t.sure or best.score - runner_up >= t.margin):
            return best
        return None

    def _gives_what_is_asked(self, query: _Query, fact: Fact) -> bool:
        """False when the question wants a kind of answer (a name) the fact is never asked for."""
        keys = self._keys[self._index[fact.id]]
        return all(
            any(keys.get(w, 0.0) >= 1.0 for w in group)
            for group in ASKS_FOR
            if not group.isdisjoint(query.content)
        )

    def _weight(self, word: str, zipf: float, check: bool = False) -> float:
        """How much a content word says about what is asked.

        A word of the work weighs by its rarity among the facts, and less if it is an everyday
        English word ("kind", "place"): names and things decide what a question is about. A word
        the work never uses weighs by its rarity in English: "enough" barely changes what is
        asked, while "inception" says the question is about something else.
        """
        idf = self._idf.get(word)
        if idf is not None:
            return idf * min(1.0, max(KNOWN_FLOOR, (KNOWN_SPAN - zipf) / 4.0))
        weight = self._unknown_idf * min(1.0, max(0.15, (6.0 - zipf) / 3.0))
        # A year the work never uses is a detail being checked too ("died in 2030").
        return weight * CHECK_UNKNOWN if check or _is_year(word) else weight

    def _rank(self, query: _Query, limit: int | None = None) -> list[Match]:
        """Every shortlisted fact for the question, scored in full, best first."""
        if self._shape_only(query):
            return self._rank_by_shape(query)[:limit]
        shortlist = self._shortlist(query)
        if shortlist is None:
            return []
        self._compare(shortlist, list(shortlist.coverage))
        return self._ranking(shortlist, limit)

    def _shortlist(self, query: _Query) -> _Shortlist | None:
        """Stage 1: the facts sharing the question's content words, with their exact coverage."""
        weights = {
            w: self._weight(w, z, query.check)
            for w, z in zip(query.content, query.zipfs, strict=True)
        }
        total = sum(weights.values())
        one_word = len(weights) == 1
        # Candidates are the facts sharing a word with the question, rarest words first. Once
        # the postings read reach the budget, a common word no longer adds candidates; it only
        # adds to those already found (their coverage is exact below).
        postings = self._postings
        order = sorted((w for w in weights if w in postings), key=lambda w: len(postings[w].facts))
        if not order:
            return None
        size, closest = (SHORTLIST_ONE_WORD, CLOSEST_ONE_WORD) if one_word else (SHORTLIST, CLOSEST)
        if sum(len(postings[w].facts) for w in order) < VECTORISE_FROM:
            found = self._shortlist_few(order, weights, size)
        else:
            found = self._shortlist_many(order, weights, size)
        coverage = {}
        for i in found:
            keys = self._keys[i]
            coverage[i] = sum([wt * keys.get(w, 0.0) for w, wt in weights.items()]) / total
        return _Shortlist(query.text, closest, coverage, {}, {})

    def _compare(self, shortlist: _Shortlist, facts: list[int], reach: float = -math.inf) -> None:
        """Stage 2 for `facts`: how alike the question is to the closest of their phrasings.

        A fact whose closest phrasing could not lift it to `reach` even with a perfect
        token-set ratio is left uncompared, its plain ratios kept for later.
        """
        if not facts:
            return
        text, closest, plain = shortlist.text, shortlist.closest, shortlist.plain
        coverage = shortlist.coverage
        # The plain ratio is cheap: it picks each fact's closest phrasings, and only those get
        # the costlier token-set ratio, in one call. Asking rapidfuzz for each fact's best few
        # keeps the ranking of every phrasing out of Python.
        pairs = []
        best: dict[int, float] = {}
        for i in facts:
            found = plain.pop(i, None) or process.extract(
                text, self._phrasings[i], scorer=fuzz.ratio, limit=closest
            )
            if found and self._most(coverage[i], found[0][1]) < reach:
                plain[i] = found
                continue
            best[i] = 0.0
            pairs += [(i, phrasing, value) for phrasing, value, _ in found]
        token_set = process.extract(
            text, [phrasing for _, phrasing, _ in pairs], scorer=fuzz.token_set_ratio, limit=None
        )
        for _, value, k in token_set:
            i, _, plain_value = pairs[k]
            if value + plain_value > best[i]:
                best[i] = value + plain_value
        for i, value in best.items():
            shortlist.similarity[i] = value / 200

    def _compare_what_matters(self, shortlist: _Shortlist) -> None:
        """Stage 2 for the facts that can matter to the answer: the one that could score the
        most, then those that could still come within the margin of it.

        A fact scores at most what its coverage gives with the best similarity its phrasings'
        lengths allow, and, once its plain ratios are known, with a perfect token-set ratio.
        One that cannot come within the margin of a fact already scored can be neither the
        answer nor the runner-up that would make it doubtful.
        """
        size, spans = len(shortlist.text), self._spans
        bound = {}
        for i, c in shortlist.coverage.items():
            # The plain ratio is 200 * common / (sum of the lengths), so at most what the
            # length nearest the question's allows.
            shortest, longest = spans[i]
            nearest = min(max(size, shortest), longest)
            bound[i] = self._most(
                c, 200 * min(size, nearest) / (size + nearest) if nearest else 100.0
            )
        first = max(bound, key=bound.__getitem__)
        self._compare(shortlist, [first])
        # A hair below the margin: a fact exactly at it is scored rather than rounded away.
        reach = self._score(shortlist, first) - self.thresholds.margin - 1e-9
        self._compare(shortlist, [i for i, b in bound.items() if i != first and b >= reach], reach)

    def _most(self, coverage: float, ratio: float) -> float:
        """The most a fact can score with this coverage and a plain ratio of at most `ratio`
        with its closest phrasing: the token-set ratio is at most 100."""
        cw = self.thresholds.coverage_weight
        return cw * coverage + (1 - cw) * (100 + ratio) / 200

    def _score(self, shortlist: _Shortlist, i: int) -> float:
        cw = self.thresholds.coverage_weight
        return cw * shortlist.coverage[i] + (1 - cw) * shortlist.similarity[i]

    def _ranking(self, shortlist: _Shortlist, limit: int | None) -> list[Match]:
        """The facts compared so far, best first; Match objects only for the places asked for."""
        facts = self.work.facts
        scored = sorted((-self._score(shortlist, i), facts[i].id, i) for i in shortlist.similarity)
        return [
            Match(facts[i], -neg, shortlist.coverage[i], shortlist.similarity[i])
            for neg, _, i in scored[:limit]
        ]

    def _shortlist_few(self, order: list[str], weights: dict[str, float], size: int) -> list[int]:
        """Stage 1 when the words have few postings in all (within the budget): in Python,
        which costs less than numpy's calls for so few."""
        rough: dict[int, float] = {}
        for word in order:
            posting, wt = self._postings[word], weights[word]
            pairs = zip(posting.facts.tolist(), posting.weights.tolist(), strict=True)
            if not rough:
                rough = {i: weight * wt for i, weight in pairs}
            else:
                get = rough.get
                for i, weight in pairs:
                    rough[i] = get(i, 0.0) + weight * wt
        return sorted(rough, key=rough.__getitem__, reverse=True)[:size]

    def _shortlist_many(self, order: list[str], weights: dict[str, float], size: int) -> list[int]:
        """Stage 1 with numpy, for words with many postings; the same shortlist as
        `_shortlist_few` where both apply."""
        rough = np.zeros(len(self._keys))
        found = np.zeros(len(self._keys), dtype=bool)
        candidates: list[np.ndarray] = []  # in the order they are found: ties keep it
        read = 0
        for word in order:
            posting = self._postings[word]
            facts, boosted = posting.facts, posting.weights * weights[word]
            if not candidates:
                # Even the rarest word of a question can be common ("fate", a name's part):
                # its first postings within the budget are the candidates then.
                facts, boosted = facts[:POSTINGS_BUDGET], boosted[:POSTINGS_BUDGET]
                read = len(facts)
                rough[facts] = boosted
                candidates.append(facts)
            elif read + len(facts) <= POSTINGS_BUDGET:
                read += len(facts)
                rough[facts] += boosted  # a fact is in a word's postings once
                candidates.append(facts[~found[facts]])
            else:
                known = found[facts]
                rough[facts[known]] += boosted[known]
                continue
            found[candidates[-1]] = True
        ordered = np.concatenate(candidates) if len(candidates) > 1 else candidates[0]
        best_first = np.argsort(-rough[ordered], kind="stable")[:size]
        return ordered[best_first].tolist()

    def _shape_only(self, query: _Query) -> bool:
        """True when every content word of the question is everyday English (or it has
        none): its words say too little to find facts by, only its shape can."""
        return all(z >= self.thresholds.everyday for z in query.zipfs)

    def _rank_by_shape(self, query: _Query) -> list[Match]:
        # Without telling words the shape is all there is: "even" in "whats it even about"
        # would cost the likeness to "what is it about" that such a question needs.
        text = " ".join(w for w in query.text.split() if w not in FILLERS)
        if not text:
            return []
        found = process.extract(text, self._shapes, scorer=fuzz.ratio, limit=20, score_cutoff=60)
        best: dict[int, float] = {}
        for _, score, index in found:
            fact = self._shape_owners[index]
            best[fact] = max(best.get(fact, 0.0), score / 100)
        matches = [Match(self.work.facts[i], s, 1.0, s) for i, s in best.items()]
        matches.sort(key=lambda m: (-m.score, m.fact.id))
        return matches

    def complete(self, text: str, level: Tier, limit: int = 25) -> list[str]:
        """Questions the facts answer, for autocomplete: only wording at or below `level`.

        The facts that would answer what is typed so far come first; then phrasings that look
        like it, so a half-typed word still finds something.
        """
        allowed = [f for f in self.work.facts if f.tier.index <= level.index]
        if not text.strip():
            return [display_question(f) for f in allowed[:limit]]
        ranked = [m.fact for m in self._rank(self.query(text)) if m.fact.tier.index <= level.index]
        shown = dict.fromkeys(display_question(f) for f in ranked)
        if len(shown) < limit:
            choices = [display_question(f) for f in allowed]
            for choice, _, _ in process.extract(
                text[:MAX_QUESTION],
                choices,
                scorer=fuzz.WRatio,
                processor=utils.default_process,
                limit=limit,
            ):
                shown.setdefault(choice)
        return list(shown)[:limit]


def _is_year(word: str) -> bool:
    return len(word) == 4 and word.isdigit()


def display_question(fact: Fact) -> str:
    """The fact's first phrasing, tidied for showing to people (at most 100 characters)."""
    text = fact.questions[0].strip()
    text = text[:1].upper() + text[1:]
    if not text.endswith("?"):
        text += "?"
    return text[:100]
