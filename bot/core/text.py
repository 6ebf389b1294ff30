"""Text normalisation shared by the matcher and the index: case, punctuation, names, typos."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from itertools import compress, count
from pathlib import Path

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'"})
_POSSESSIVE = re.compile(r"'(?<=\w')s\b")  # the apostrophe first: a literal to scan for
_NON_WORD = re.compile(r"[\W_]+")
# In ASCII text every character but a letter or a digit separates words, as _NON_WORD says;
# a table of bytes is the cheapest way to say it.
_ASCII_SEPARATORS = bytes(c if chr(c).isalnum() else ord(" ") for c in range(256))
# `fold_lines` folds texts joined by newlines in one pass and marks where each one ended.
LINE_END = "\x00"
_NEWLINE = ord("\n")
_ASCII_LINES = _ASCII_SEPARATORS[:_NEWLINE] + LINE_END.encode() + _ASCII_SEPARATORS[_NEWLINE + 1 :]
# Mentions, custom emoji and links say nothing about what is asked.
_NOISE = re.compile(r"<a?:\w+:\d+>|<[@#][!&]?\d+>|@(?:everyone|here)\b|https?://\S+")

# Words that carry the shape of a question, not its subject. They still count for fuzzy
# similarity, but not as evidence that a question is about a fact. Contractions appear without
# their apostrophe because folding drops it ("doesn't" -> "doesnt").
STOPWORDS = frozenset(
    """
    a about after again all also am an and any anyone are as at be been before being but by can
    could did do does doing done during else ever for from get gets getting got had has have
    having he her hers him his how i if in into is it its itself just like me mean my no not of
    off on once one only or other our out over own really said say says she should so some such
    tell than that thats the their them then there these they this those through to too u up us
    very was we were what whats when where which while who whos whom whose why will with would
    ya yo you your youre movie movies film films
    dont doesnt didnt isnt arent wasnt werent cant couldnt wont wouldnt shouldnt hasnt havent
    hadnt aint im ive youve hes shes theyre theyve weve lets wheres hows whys whens
    ok okay so um uh hmm lol lmao omg bro guys pls please wait even exactly anyway though tho
    yeah yes yep nah kind sort stuff thing things part bit
    """.split()  # noqa: SIM905 - a word list reads better as text
)

# A question that says it means the real world ("is there really life on mars") is about the
# story only if it names someone or something of it.
REALITY = frozenset({"real", "really", "actually", "actual", "reality"})
PRONOUNS = frozenset(
    "she he her him his hers herself himself they them their theirs theyre it its".split()  # noqa: SIM905
)

# Stopwords that say nothing even about the shape of a question ("what is it even about").
FILLERS = frozenset(
    """
    even really just like so um uh hmm lol lmao omg bro guys please wait exactly anyway though
    ok okay
    """.split()  # noqa: SIM905 - a word list reads better as text
)

# Chat spellings, expanded before anything else so that they read as the words they stand for.
CHAT_SPEAK: dict[str, tuple[str, ...]] = {
    "wat": ("what",),
    "teh": ("the",),
    "ther": ("there",),
    "thier": ("their",),
    "wen": ("when",),
    "wher": ("where",),
    "wut": ("what",),
    "wats": ("whats",),
    "wht": ("what",),
    "r": ("are",),
    "ur": ("your",),
    "y": ("why",),
    "n": ("and",),
    "abt": ("about",),
    "bc": ("because",),
    "cuz": ("because",),
    "coz": ("because",),
    "thru": ("through",),
    "tho": ("though",),
    "pls": ("please",),
    "plz": ("please",),
    "msg": ("message",),
    "msgs": ("messages",),
    "kinda": ("kind", "of"),
    "sorta": ("sort", "of"),
    "wanna": ("want", "to"),
    "gonna": ("going", "to"),
    "gotta": ("got", "to"),
    "dunno": ("do", "not", "know"),
    "ppl": ("people",),
    "rn": ("right", "now"),
    "b4": ("before",),
    "bf": ("boyfriend",),
    "gf": ("girlfriend",),
    "bday": ("birthday",),
    "convo": ("conversation",),
    "comms": ("contact",),
    "mc": ("main", "character"),
    "mcs": ("main", "characters"),
    "smth": ("something",),
    "sth": ("something",),
    "smthn": ("something",),
    "idk": ("i", "do", "not", "know"),
    "irl": ("in", "real", "life"),
    "w": ("with",),
    "bout": ("about",),
    "cos": ("because",),
    "rly": ("really",),
    "srsly": ("seriously",),
    "prob": ("probably",),
    "prolly": ("probably",),
    "def": ("definitely",),
    "obv": ("obviously",),
    "ofc": ("of", "course"),
    "esp": ("especially",),
    "diff": ("different",),
    "lil": ("little",),
    "biz": ("business",),
    "yr": ("year",),
    "yrs": ("years",),
    "tryna": ("trying", "to"),
    "finna": ("going", "to"),
    "ik": ("i", "know"),
    "jk": (),
    "tbf": (),
    "iirc": (),
    "hrs": ("hours",),
    "mins": ("minutes",),
    "yall": ("you", "all"),
    "nvm": (),
    "ikr": (),
    "lmk": (),
    "fyi": (),
    # Asides that say nothing about what is asked ("ngl" is not a question about lying).
    "tbh": (),
    "btw": (),
    "ngl": (),
    "imo": (),
    "imho": (),
    "fr": (),
    "istg": (),
    "lowkey": (),
    "highkey": (),
}


# Words that turn a statement into a check ("jay dies at the end right?"): at the end of a
# question they are its punctuation, not its subject. Chat spellings are expanded first
# ("or smth" arrives as "or something").
def _by_last_word(tags: Iterable[str]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Tags by their last word, longest first: a question's end is looked up, not scanned for."""
    found: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for tag in sorted((tuple(t.split()) for t in tags), key=len, reverse=True):
        found[tag[-1]].append(tag)
    return {last: tuple(group) for last, group in found.items()}


TAGS = _by_last_word(
    """
    right|right guys|yeah|yea|correct|true|no|huh|eh|innit|or not|or nah|or no|or what|yes or no
    |or something|i think|i forgot|i guess|isnt it|wasnt it|didnt she|didnt he
    |didnt they|doesnt she|doesnt he|doesnt it|dont they|wasnt she|wasnt he|isnt she|isnt he
    """.split("|")  # noqa: SIM905 - a word list reads better as text
)


@cache
def english_table() -> dict[str, float]:
    """Zipf frequencies of general English words (see `english_zipf`), loaded once."""
    table: dict[str, float] = {}
    path = Path(__file__).with_name("data") / "english-frequency.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            word, zipf = line.split()
            word = word.replace("'", "")
            table[word] = max(table.get(word, 0.0), float(zipf))
    return table


def english_zipf(word: str) -> float:
    """How common a word is in general English (Zipf scale, 7 = 'the'); 0 for rare words."""
    return english_table().get(word, 0.0)


def fold_words(text: str) -> list[str]:
    """The words of `text`: lower-cased, without accents, invisible characters, apostrophes or
    punctuation."""
    if text.isascii():  # the common case, many times faster than the Unicode path
        return _fold_ascii(text, _ASCII_SEPARATORS).split()
    text = _NOISE.sub(" ", unicodedata.normalize("NFKC", text))
    text = text.translate(_APOSTROPHES).casefold()
    text = "".join(
        ch
        for ch in unicodedata.normalize("NFKD", text)
        if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
    )
    text = _drop_apostrophes(text)
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_SEPARATORS).decode("ascii").split()
    return _NON_WORD.sub(" ", text).split()


def _fold_ascii(text: str, separators: bytes) -> str:
    """ASCII `text` lower-cased, without noise or apostrophes, its separators as the table says."""
    if "<" in text or "@" in text or "http" in text:
        text = _NOISE.sub(" ", text)
    text = _drop_apostrophes(text.replace("`", "'").lower())
    return text.encode("ascii").translate(separators).decode("ascii")


def _drop_apostrophes(text: str) -> str:
    return _POSSESSIVE.sub("", text).replace("'", "") if "'" in text else text


def fold_lines(texts: Sequence[str]) -> list[str]:
    """The words of every text as `fold_words` gives them, in one list, each text's words
    followed by LINE_END.

    Plain ASCII texts are folded together, in one pass: an index folds a million of them.
    """
    joined = "\n".join(texts)
    if joined.isascii() and joined.count("\n") == len(texts) - 1:
        # The newline, the one character that no noise or possessive pattern reads across,
        # becomes LINE_END, a word of its own.
        folded = _fold_ascii(joined + "\n", _ASCII_LINES)
        return folded.replace(LINE_END, f" {LINE_END} ").split()
    return [word for text in texts for word in (*fold_words(text), LINE_END)]


def fold(text: str) -> str:
    """`text` folded as `fold_words` does, its words joined by single spaces."""
    return " ".join(fold_words(text))


_STRETCHED = re.compile(r"(\w)\1{2,}")


def unstretch(word: str) -> str:
    """A word typed with a letter held down ("whyyy", "pleaseee") as it is spelt."""
    if not _STRETCHED.search(word):
        return word
    # The likelier spelling: "sooo" is "so", "coool" is "cool"; a name keeps one letter.
    single, double = _STRETCHED.sub(r"\1", word), _STRETCHED.sub(r"\1\1", word)
    return double if english_zipf(double) > english_zipf(single) else single


def expand_chat(words: list[str]) -> list[str]:
    """Replace chat spellings ("wat", "abt", "msgs", "whyyy") by the words they stand for."""
    if _STRETCHED.search(" ".join(words)):  # one search for the question, not one a word
        words = [unstretch(word) for word in words]
    if CHAT_SPEAK.keys().isdisjoint(words):
        return words
    return [part for word in words for part in CHAT_SPEAK.get(word, (word,))]


# Openings that say a claim is being checked ("i heard nan-young dies"), not what it is about.
PREFACES: tuple[tuple[str, ...], ...] = tuple(
    tuple(preface.split())
    for preface in """
    i heard|i read|is it true|someone said|someone told me|my friend said|my friend says
    |a friend said|a friend told me|people say|apparently|so apparently
    """.split("|")  # noqa: SIM905 - a word list reads better as text
)


_PREFACES_BY_FIRST = {
    first: tuple(p for p in PREFACES if p[0] == first)
    for first in dict.fromkeys(p[0] for p in PREFACES)
}


def drop_prefaces(words: list[str]) -> list[str]:
    """Remove an opening such as "i heard (that)" or "is it true that"."""
    for preface in _PREFACES_BY_FIRST.get(words[0], ()) if words else ():
        if tuple(words[: len(preface)]) == preface:
            rest = words[len(preface) :]
            if rest[:1] == ["that"] and len(rest) > 2:
                rest = rest[1:]
            return rest if len(rest) >= 2 else words
    return words


def drop_tags(words: list[str]) -> list[str]:
    """Remove the check words at the end of a question ("... right", "... or not")."""
    while len(words) > 2:
        tag = next((t for t in TAGS.get(words[-1], ()) if tuple(words[-len(t) :]) == t), None)
        if tag is None or len(words) - len(tag) < 2:
            break
        words = words[: -len(tag)]
    return words


def _strip_suffix(word: str) -> str:
    """A deliberately small suffix stripper: enough to meet 'survives'/'survived'/'surviving'."""
    if len(word) <= 4 or word.isdigit():
        return word
    for suffix in ("ings", "ing", "ied", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix in ("ied", "ies"):
                base += "y"
            # "stopped" -> "stopp" -> "stop": undo a doubled final consonant.
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "aeiouls":
                base = base[:-1]
            return base
    if word.endswith("e") and len(word) > 5:
        return word[:-1]
    return word


class _Stems(dict[str, str]):
    """Stems by word, made on first use; emptied when full, so typed words cannot grow it.

    The words in `skip` stem to the empty string.
    """

    def __init__(self, skip: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self._skip = skip

    def __missing__(self, word: str) -> str:
        if len(self) >= 65536:
            self.clear()
        root = self[word] = "" if word in self._skip else _strip_suffix(word)
        return root


# The stem of a word ("survives" -> "surviv"). A dict lookup where the stem is known: the hot
# loops call it for every word of every question and of every text indexed.
stem = _Stems().__getitem__
# ... and "" for a stopword: the words of a text that carry meaning, in one lookup each.
content_stem = _Stems(STOPWORDS).__getitem__


_END = ""  # the trie key that ends a variant: no word stems to the empty string


class Synonyms:
    """Maps spellings of one name or word ('nan young', 'Nan-young') onto one canonical token.

    Variants match by the stems of their words, so a group lists each phrase once and its
    inflections follow: "pass out" also covers "passing out" and "passed out".
    """

    def __init__(self, table: Mapping[str, Iterable[str]]) -> None:
        phrases: dict[tuple[str, ...], str] = {}  # stems of a variant -> its canonical token
        self._words: set[str] = set()
        for canonical, variants in table.items():
            for variant in (canonical, *variants):
                words = fold_words(variant)
                if not words:
                    continue
                self._words.update(words)
                phrases.setdefault(tuple(map(stem, words)), canonical)
                # People drop the apostrophe of a possessive: "nan youngs mother".
                possessive = (*map(stem, words[:-1]), stem(words[-1] + "s"))
                phrases.setdefault(possessive, canonical)
        # The variants as a trie of stems: the longest one at a position is found in one walk.
        self._trie: dict[str, dict] = {}
        for phrase, canonical in phrases.items():
            node = self._trie
            for part in phrase:
                node = node.setdefault(part, {})
            node[_END] = canonical

    def words(self) -> set[str]:
        """Every single word that appears in some variant (for the typo vocabulary)."""
        return set(self._words)

    def apply(self, tokens: list[str]) -> list[str]:
        """Replace the longest matching variant at each position by its canonical token."""
        stems = list(map(stem, tokens))
        trie = self._trie
        starts = list(compress(count(), map(trie.__contains__, stems)))  # no Python loop
        if not starts:
            return tokens
        out: list[str] = []
        done, n = 0, len(tokens)  # tokens before `done` are in `out`
        for start in starts:
            if start < done:  # inside the variant just replaced
                continue
            node: dict | None = trie[stems[start]]
            found, end, j = None, start, start
            while node is not None:
                j += 1
                if _END in node:
                    found, end = node[_END], j
                node = node.get(stems[j]) if j < n else None
            if found is not None:
                out += tokens[done:start]
                out.append(found)
                done = end
        out += tokens[done:]
        return out


def _deletions(word: str) -> set[str]:
    """The word and every way of dropping one of its letters."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


class Speller:
    """Corrects misspelt words to a vocabulary.

    One slip (a letter dropped, added or wrong, or two letters swapped) is found for any word
    through an index of single-letter deletions, so "eyon" finds "yeon" and "hyin" finds "hyun"
    without comparing against every word. Longer words with more slips ("starlite") fall back to
    the closest word by Indel similarity among those of the same first letter, unless `cutoff`
    is None.
    """

    def __init__(self, vocabulary: Iterable[str], cutoff: float | None = 80) -> None:
        self.cutoff = cutoff
        self._deletions: dict[str, list[str]] = defaultdict(list)
        self._by_initial: dict[str, list[str]] = defaultdict(list)
        for word in sorted(set(vocabulary)):
            for variant in _deletions(word):
                self._deletions[variant].append(word)
            self._by_initial[word[0]].append(word)

    def correct(self, word: str) -> str | None:
        """The vocabulary word `word` is most likely a misspelling of, or None."""
        found = self.candidates(word)
        return found[0] if found else None

    def candidates(self, word: str) -> list[str]:
        """The equally likely corrections of `word`, in a fixed order; empty if none."""
        near = {
            known
            for variant in _deletions(word)
            for known in self._deletions.get(variant, ())
            if OSA.distance(word, known, score_cutoff=1) <= 1
        }
        if near:
            # Equally close: the more common word is the likelier meaning ("deos": "does").
            keys = {known: (english_zipf(known), fuzz.ratio(word, known)) for known in near}
            best = max(keys.values())
            return sorted(known for known, key in keys.items() if key == best)
        if len(word) < 6 or self.cutoff is None:
            return []
        best = process.extractOne(
            word, self._by_initial.get(word[0], ()), scorer=fuzz.ratio, score_cutoff=self.cutoff
        )
        return [best[0]] if best is not None else []
