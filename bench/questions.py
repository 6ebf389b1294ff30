"""Deterministic question mixes: the sample questions and facts' phrasings, typed carelessly."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.config import PROJECT_ROOT
from bot.core.model import Work

SAMPLE_QUESTIONS = PROJECT_ROOT.parent / "shared" / "lost-in-starlight" / "sample-questions.yaml"

# Questions a fan server sees that no fact file answers.
OFF_TOPIC = (
    "who directed inception",
    "what time is it",
    "tell me a joke",
    "how do i bake sourdough bread",
    "what's the weather in seoul tomorrow",
    "who won the world cup in 2018",
    "best pizza near me",
    "how tall is mount everest",
    "can you recommend a good anime",
    "what is the capital of australia",
    "how do i reset my password",
    "is the server down",
    "who is the president of france",
    "how old is taylor swift",
    "translate hello into korean",
    "what are the rules of this server",
    "lol same",
    "good morning everyone",
    "does anyone want to play valorant tonight",
    "what's your favourite colour",
)

# Neighbouring keys on a QWERTY keyboard: the usual fat-finger substitutions.
_KEYS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_KEYS):
    for _c, _ch in enumerate(_row):
        near = _row[max(0, _c - 1) : _c] + _row[_c + 1 : _c + 2]
        for _other in (_r - 1, _r + 1):
            if 0 <= _other < len(_KEYS):
                near += _KEYS[_other][max(0, _c - 1) : _c + 1]
        _NEIGHBOURS[_ch] = near


@dataclass(frozen=True, slots=True)
class Question:
    """A question as typed, and the id of the fact it was made from (None if off-topic/unknown)."""

    text: str
    source: str | None = None


def typo(word: str, rng: random.Random) -> str:
    """One slip of the fingers: a dropped, doubled, swapped, wrong or extra letter."""
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)  # people rarely get the first letter wrong
    kind = rng.randrange(5)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    if kind == 3:
        return word[:i] + rng.choice(_NEIGHBOURS.get(word[i], word[i]) or word[i]) + word[i + 1 :]
    return word[:i] + rng.choice("aeiou") + word[i:]


def perturb(text: str, rng: random.Random, edits: int) -> str:
    """`edits` careless changes: typos (most often), a dropped word or two words swapped."""
    words = text.split()
    for _ in range(edits):
        roll = rng.random()
        if roll < 0.2 and len(words) > 3:
            del words[rng.randrange(len(words))]
        elif roll < 0.35 and len(words) > 2:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        else:
            long = [i for i, w in enumerate(words) if len(w) >= 4]
            if long:
                i = rng.choice(long)
                words[i] = typo(words[i], rng)
    out = " ".join(words)
    # Capitals and question marks come and go; the matcher must not care.
    if rng.random() < 0.3:
        out = out[:1].upper() + out[1:]
    if rng.random() < 0.3 and not out.endswith("?"):
        out += "?"
    return out


def sample_questions(path: Path = SAMPLE_QUESTIONS) -> list[str]:
    """The sample questions people ask about the shipped film."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(item["q"]) for item in data["items"]]


def shipped_mix(variants: int = 4, seed: int = 7, path: Path = SAMPLE_QUESTIONS) -> list[Question]:
    """Each sample question, then `variants` careless retypings of each."""
    rng = random.Random(seed)
    samples = sample_questions(path)
    mix = [Question(q) for q in samples]
    for q in samples:
        mix += [Question(perturb(q, rng, rng.randint(1, 2))) for _ in range(variants)]
    return mix


def synthetic_mix(work: Work, count: int, seed: int = 7, off_topic: float = 0.1) -> list[Question]:
    """`count` questions: facts' phrasings retyped with 0-3 edits, and some off-topic ones."""
    rng = random.Random(seed * 7919 + len(work.facts))
    mix = []
    for _ in range(count):
        if rng.random() < off_topic:
            mix.append(Question(perturb(rng.choice(OFF_TOPIC), rng, rng.randint(0, 1))))
            continue
        fact = rng.choice(work.facts)
        edits = rng.choice((0, 1, 1, 2, 2, 3))
        mix.append(Question(perturb(rng.choice(fact.questions), rng, edits), fact.id))
    return mix
