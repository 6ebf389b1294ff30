"""Deterministic synthetic works of any size: a generated franchise built as `Work` objects.

The generated story has characters with Korean and English names, places, objects, events and
groups. Facts are about one entity or about a pair of them, and popular characters appear in
many facts, so names, templates and vocabulary are shared between facts the way they are in a
real fact file: an index cannot find the answer by one rare word alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from bot.core.model import Fact, Tier, Work


def _words(text: str) -> tuple[str, ...]:
    """A word list written as text, which reads better than a long literal."""
    return tuple(text.split())


FAMILY = _words(
    "kim lee park choi jung kang cho yoon jang lim han oh seo shin kwon hwang ahn song jeon "
    "hong yoo ko moon yang son bae baek heo nam noh"
)
SYLLABLES = _words(
    "min ji seo hyun woo jun young eun soo hye jae sung yeon ha na da ye do tae kyung hee jin "
    "ho bin won chan gyu rin sol ah"
)
ENGLISH_FIRST = _words(
    "mara theo iris felix nora silas june owen ada jasper luna miles hazel rowan clara ezra "
    "violet hugo ivy leo maeve arlo wren otto greta finn ruby cyrus elsa dorian pearl quentin "
    "stella ansel nina basil opal caspar della emmett fern gideon hattie ivo josie kit lydia "
    "magnus nell orson petra rufus selma tobias una vaughn willa xavier yara zane"
)
ENGLISH_LAST = _words(
    "quill hart vance rook sterling ashby marlow crane fenwick holt lark mercer north pike "
    "reyes sato thorne upton vale winslow yates blackwood calloway dunmore everly frost "
    "grayson hollis ives jolley kestrel lockhart moss nash oakes pryor quigley ravens sable "
    "tindall underhill voss wilder york zeller abbott brandt carver drake ellison flint gale "
    "harlow irving jensen kline"
)
KOREAN_PLACES = _words(
    "busan incheon daegu gwangju jeonju namsan haeundae myeongdong jeju gangneung sokcho "
    "mokpo andong suwon ulsan"
)
PLACE_PREFIX = _words(
    "silver hollow north iron glass amber crimson quiet sunken old ember frost jade moon star "
    "storm willow cedar obsidian ivory"
)
PLACE_SUFFIX = _words(
    "harbor gate market tower valley station archive bridge garden citadel quarter reef spire "
    "well hill port monastery observatory depot canyon"
)
MATERIALS = _words(
    "jade iron glass silver bone amber copper crystal obsidian paper ivory brass star moon ash salt"
)
THINGS = _words(
    "compass key lantern mask map locket radio blade crown journal seed mirror bell flute "
    "ring engine letter coin orb record"
)
EVENT_KINDS = _words(
    "battle festival siege storm trial wedding funeral blackout heist concert flood eclipse "
    "election duel summit"
)
GROUP_ADJECTIVES = _words("silver night iron red hollow last free quiet bright ashen")
GROUP_NOUNS = _words("guild order crew circle union company league brotherhood council syndicate")
ROLES = _words(
    "pilot archivist smuggler medic engineer singer detective cartographer botanist courier "
    "captain thief scholar guard diplomat mechanic painter hacker monk chef"
)
RELATIONS = (
    "sister",
    "brother",
    "mentor",
    "rival",
    "cousin",
    "partner",
    "student",
    "former captain",
    "childhood friend",
    "daughter",
    "son",
    "bodyguard",
)
TRAITS = (
    "keeps a promise made to a dying friend",
    "never forgave the council for the flood",
    "hums old songs while working",
    "once flew cargo across the reef",
    "collects broken radios",
    "is afraid of deep water",
    "writes letters that are never sent",
    "can read the old star charts",
    "lost a hand in the mines",
    "grew up in the monastery kitchens",
    "owes money to half the harbor",
    "trains pigeons to carry messages",
)
FATES = (
    "survives and returns home to {place}",
    "dies during {event}, shielding {other}",
    "is lost in {place} and never found",
    "survives but loses the {object}",
    "is rescued by {other} at the last moment",
    "dies of old age in {place}, long after the war",
    "sacrifices themself to stop {event}",
    "is alive at the end and leads the rebuilding of {place}",
)
TIERS = (
    ("premise", "Premise", "The trailer and the synopsis."),
    ("season-1", "Season 1", "The first season."),
    ("season-2", "Season 2", "The second season."),
    ("season-3", "Season 3", "The third season."),
    ("season-4", "Season 4", "The fourth season."),
    ("finale", "Finale", "Everything, to the last episode."),
)


@dataclass(frozen=True, slots=True)
class Entity:
    """Something facts are about: `name` is how answers write it, `typed` how fans type it."""

    name: str
    typed: tuple[str, ...]
    detail: str = ""


# Question templates per kind of fact: the shared vocabulary ("who", "what happens to",
# "relationship") is what makes facts compete for the same question.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "voice": (
        "who voices {c}",
        "who plays {c}",
        "{c} voice actor",
        "who is the voice of {c}",
        "who does the voice for {c}",
        "voice of {c}?",
        "which actor plays {c}",
        "who is {c} voiced by",
        "{c}'s voice actor",
        "who plays {c} in the show",
    ),
    "identity": (
        "who is {c}",
        "who's {c}",
        "tell me about {c}",
        "what does {c} do",
        "what is {c}'s job",
        "{c}?",
        "who is {c} in the story",
        "what is {c} like",
        "is {c} a {role}",
        "describe {c}",
    ),
    "fate": (
        "does {c} die",
        "is {c} alive at the end",
        "what happens to {c}",
        "does {c} survive",
        "is {c} dead",
        "how does {c} die",
        "what happens to {c} in the end",
        "{c} fate",
        "does {c} make it",
        "is {c} still alive",
    ),
    "motive": (
        "why does {c} leave {p}",
        "what does {c} want",
        "what is {c}'s goal",
        "why is {c} after the {o}",
        "what drives {c}",
        "what is {c} looking for",
        "{c} motive",
        "why does {c} want the {o}",
    ),
    "relation": (
        "how does {c} know {d}",
        "what is the relationship between {c} and {d}",
        "are {c} and {d} related",
        "{c} and {d} relationship",
        "is {c} {d}'s {rel}",
        "how did {c} meet {d}",
        "are {c} and {d} friends",
        "what is {c} to {d}",
        "do {c} and {d} get along",
        "who is {d} to {c}",
    ),
    "holds": (
        "who gives {c} the {o}",
        "where does {c} find the {o}",
        "why does {c} have the {o}",
        "how does {c} get the {o}",
        "what does {c} do with the {o}",
        "does {c} keep the {o}",
        "{c} and the {o}",
        "where did {c} get the {o}",
    ),
    "at-event": (
        "what does {c} do at {e}",
        "what happens to {c} during {e}",
        "where is {c} during {e}",
        "is {c} at {e}",
        "{c} at {e}",
        "how does {c} survive {e}",
        "what is {c}'s part in {e}",
        "why is {c} at {e}",
    ),
    "visits": (
        "why does {c} go to {p}",
        "what is {c} doing in {p}",
        "when does {c} arrive in {p}",
        "how does {c} get to {p}",
        "does {c} live in {p}",
        "who does {c} meet in {p}",
        "what happens to {c} in {p}",
        "{c} in {p}",
    ),
    "event": (
        "what happens at {e}",
        "where does {e} take place",
        "who starts {e}",
        "when is {e}",
        "what causes {e}",
        "who wins {e}",
        "how does {e} end",
        "who dies at {e}",
        "what is {e}",
    ),
    "place": (
        "where is {p}",
        "what is {p}",
        "who rules {p}",
        "what happens in {p}",
        "is {p} a real place",
        "who lives in {p}",
        "what is {p} known for",
    ),
    "object": (
        "what does the {o} do",
        "who made the {o}",
        "what is the {o} for",
        "where is the {o} kept",
        "what is the {o}",
        "is the {o} magic",
        "why is the {o} important",
    ),
    "group": (
        "who leads {g}",
        "what is {g}",
        "who founded {g}",
        "what does {g} want",
        "where is {g} based",
        "how many people are in {g}",
    ),
    "member": (
        "is {c} part of {g}",
        "when does {c} join {g}",
        "why does {c} join {g}",
        "is {c} in {g}",
        "does {c} leave {g}",
        "what is {c}'s rank in {g}",
    ),
}


def _title(text: str) -> str:
    """'park seo-jun' -> 'Park Seo-jun', 'storm of daegu' -> 'Storm of Daegu'."""
    return " ".join(w if w in ("of", "the") else w[:1].upper() + w[1:] for w in text.split())


class _Generator:
    """Builds one work; all randomness comes from one seeded `random.Random`."""

    def __init__(self, size: int, seed: int) -> None:
        """Draw the cast, the places, objects, events and groups for a work of `size` facts."""
        self.size = size
        self.rng = random.Random(seed * 1_000_003 + size)
        self.tiers = tuple(Tier(t, label, d, i) for i, (t, label, d) in enumerate(TIERS))
        self.synonyms: dict[str, tuple[str, ...]] = {}

        def count(per: int, low: int, high: int) -> int:
            return max(low, min(high, size // per))

        self.characters = self._characters(count(12, 30, 20_000))
        self.actors = [_title(self._korean_name()[0]) for _ in range(len(self.characters))]
        self.places = self._places(count(150, 12, 700))
        self.objects = self._objects(count(300, 10, len(MATERIALS) * len(THINGS)))
        self.events = self._events(count(120, 10, 5_000))
        self.groups = self._groups(count(1000, 6, len(GROUP_ADJECTIVES) * len(GROUP_NOUNS)))
        # A few characters carry the story: pair facts pick characters with a Zipf-like
        # weight, so the leads share hundreds of facts and minor characters only a few.
        self._weights = list(accumulate(1.0 / (r + 1) ** 0.8 for r in range(len(self.characters))))

    def _korean_name(self) -> tuple[str, str]:
        """A full name 'park seo-jun' and its given name 'seo-jun'."""
        first, second = self.rng.sample(SYLLABLES, 2)
        given = f"{first}-{second}"
        return f"{self.rng.choice(FAMILY)} {given}", given

    def _characters(self, n: int) -> list[Entity]:
        """`n` characters with distinct full names, 60% Korean."""
        seen: set[str] = set()
        out: list[Entity] = []
        while len(out) < n:
            if self.rng.random() < 0.6:
                full, given = self._korean_name()
                typed = (given, full, given.replace("-", " "))
                # Fans spell hyphenated names several ways; the fact file maps them to one word.
                self.synonyms.setdefault(given.replace("-", ""), (given, given.replace("-", " ")))
            else:
                first = self.rng.choice(ENGLISH_FIRST)
                full = f"{first} {self.rng.choice(ENGLISH_LAST)}"
                typed = (first, full, full)
            if full in seen:
                continue
            seen.add(full)
            out.append(Entity(_title(full), typed, self.rng.choice(ROLES)))
        return out

    def _places(self, n: int) -> list[Entity]:
        """`n` places: English-sounding and Korean town names with a landmark."""
        names = [f"{a} {b}" for a in PLACE_PREFIX for b in PLACE_SUFFIX]
        names += [f"{a} {b}" for a in KOREAN_PLACES for b in PLACE_SUFFIX]
        return [Entity(_title(p), (p, p, p.split()[0])) for p in self.rng.sample(names, n)]

    def _objects(self, n: int) -> list[Entity]:
        """`n` objects, a material and a thing."""
        names = [f"{a} {b}" for a in MATERIALS for b in THINGS]
        return [Entity(o, (o, o, o.split()[1])) for o in self.rng.sample(names, n)]

    def _events(self, n: int) -> list[Entity]:
        """`n` events, each a kind of event at a place."""
        names = [f"{k} of {p.typed[0]}" for k in EVENT_KINDS for p in self.places]
        names += [f"{k} of {p}" for k in EVENT_KINDS for p in KOREAN_PLACES]
        chosen = self.rng.sample(names, min(n, len(names)))
        return [Entity(f"the {_title(e)}", (f"the {e}", e, e)) for e in chosen]

    def _groups(self, n: int) -> list[Entity]:
        """`n` groups."""
        names = [f"{a} {b}" for a in GROUP_ADJECTIVES for b in GROUP_NOUNS]
        return [Entity(f"the {_title(g)}", (f"the {g}", g)) for g in self.rng.sample(names, n)]

    def _character(self) -> int:
        """A character index, the leads far more often than the rest."""
        return self.rng.choices(range(len(self.characters)), cum_weights=self._weights)[0]

    def _tier(self, low: int, high: int) -> Tier:
        """A random tier between two indices."""
        return self.tiers[self.rng.randint(low, high)]

    def _fact(
        self,
        number: int,
        kind: str,
        tier: Tier,
        slots: dict[str, Entity],
        extra: dict[str, str],
        answer: str,
        terms: Sequence[str],
    ) -> Fact:
        """A fact of `kind` whose phrasings fill the kind's templates with the slots' names."""
        templates = TEMPLATES[kind]
        # 6 to 10 phrasings, as many as the kind has templates for.
        chosen = self.rng.sample(templates, self.rng.randint(6, min(10, len(templates))))
        questions = []
        for template in chosen:
            values = {k: self.rng.choice(e.typed) for k, e in slots.items()}
            questions.append(template.format(**values, **extra))
        return Fact(f"{kind}-{number:06d}", tier, answer, tuple(questions), tuple(terms))

    def facts(self) -> list[Fact]:
        """Facts about single entities first, then facts about pairs until `size`."""
        makers: list[Callable[[int], Fact | None]] = []
        for i in range(len(self.characters)):
            for kind in ("identity", "voice", "fate", "motive"):
                makers.append(lambda n, i=i, kind=kind: self._about_character(n, kind, i))
        makers += [lambda n, p=p: self._about_place(n, p) for p in self.places]
        makers += [lambda n, o=o: self._about_object(n, o) for o in self.objects]
        makers += [lambda n, e=e: self._about_event(n, e) for e in self.events]
        makers += [lambda n, g=g: self._about_group(n, g) for g in self.groups]
        self.rng.shuffle(makers)
        facts = [make(n) for n, make in enumerate(makers[: self.size])]
        out = [f for f in facts if f is not None]
        pairs = (self._relation, self._holds, self._at_event, self._visits, self._member)
        seen: set[tuple[str, int, int]] = set()
        while len(out) < self.size:
            make = self.rng.choice(pairs)
            fact = make(len(out), seen)
            if fact is not None:
                out.append(fact)
        return out

    # ------------------------------------------------------------ single-entity facts

    def _about_character(self, n: int, kind: str, i: int) -> Fact:
        """Voice, identity, fate or motive of one character."""
        c = self.characters[i]
        place = self.rng.choice(self.places)
        if kind == "voice":
            answer = f"{c.name} is voiced by {self.actors[i]}."
            return self._fact(
                n, kind, self.tiers[0], {"c": c}, {}, answer, (c.typed[1], "voice", "actor")
            )
        if kind == "identity":
            trait = self.rng.choice(TRAITS)
            answer = f"{c.name} is a {c.detail} from {place.name} who {trait}."
            terms = (c.typed[1], c.detail, place.typed[0])
            return self._fact(n, kind, self.tiers[0], {"c": c}, {"role": c.detail}, answer, terms)
        if kind == "fate":
            fate = self.rng.choice(FATES).format(
                place=place.name,
                event=self.rng.choice(self.events).name,
                other=self.characters[self._character()].name,
                object=self.rng.choice(self.objects).name,
            )
            answer = f"{c.name} {fate}."
            terms = (c.typed[1], "die", "survive", "fate")
            return self._fact(n, kind, self._tier(4, 5), {"c": c}, {}, answer, terms)
        obj = self.rng.choice(self.objects)
        answer = f"{c.name} wants the {obj.name} to free {place.name}, and leaves home to find it."
        terms = (c.typed[1], "motive", obj.typed[0])
        return self._fact(
            n, kind, self._tier(1, 3), {"c": c, "p": place, "o": obj}, {}, answer, terms
        )

    def _about_place(self, n: int, p: Entity) -> Fact:
        """What a place is and who rules it."""
        ruler = self.characters[self._character()]
        answer = (
            f"{p.name} is a {self.rng.choice(('port', 'walled', 'mountain', 'river'))} town "
            f"ruled by {ruler.name}, known for its {self.rng.choice(THINGS)} makers."
        )
        return self._fact(n, "place", self._tier(0, 2), {"p": p}, {}, answer, (p.typed[0],))

    def _about_object(self, n: int, o: Entity) -> Fact:
        """Who made an object."""
        maker = self.characters[self._character()]
        answer = f"The {o.name} was made by {maker.name}; it {self.rng.choice(TRAITS)}."
        return self._fact(n, "object", self._tier(0, 3), {"o": o}, {}, answer, (o.typed[0],))

    def _about_event(self, n: int, e: Entity) -> Fact:
        """Who starts an event and how it ends."""
        starter = self.characters[self._character()]
        answer = (
            f"{e.name[:1].upper()}{e.name[1:]} is started by {starter.name} and ends with "
            f"{self.rng.choice(self.places).name} in ruins."
        )
        return self._fact(n, "event", self._tier(1, 5), {"e": e}, {}, answer, (e.typed[1],))

    def _about_group(self, n: int, g: Entity) -> Fact:
        """Who leads a group."""
        leader = self.characters[self._character()]
        answer = f"{g.name[:1].upper()}{g.name[1:]} is led by {leader.name}."
        return self._fact(n, "group", self._tier(0, 2), {"g": g}, {}, answer, (g.typed[1],))

    # ------------------------------------------------------------------ pair facts

    def _pair(
        self, kind: str, seen: set[tuple[str, int, int]], pool: Sequence[Entity]
    ) -> tuple[int, int] | None:
        """A new (character, other) pair for `kind`, or None if drawn before."""
        i = self._character()
        j = self._character() if pool is self.characters else self.rng.randrange(len(pool))
        if (kind, i, j) in seen or (pool is self.characters and i == j):
            return None
        seen.add((kind, i, j))
        return i, j

    def _relation(self, n: int, seen: set[tuple[str, int, int]]) -> Fact | None:
        """How two characters are related."""
        pair = self._pair("relation", seen, self.characters)
        if pair is None:
            return None
        c, d = self.characters[pair[0]], self.characters[pair[1]]
        rel = self.rng.choice(RELATIONS)
        place = self.rng.choice(self.places)
        answer = f"{c.name} is {d.name}'s {rel}; they met in {place.name}."
        terms = (c.typed[1], d.typed[1], rel, "relationship")
        return self._fact(
            n, "relation", self._tier(0, 4), {"c": c, "d": d}, {"rel": rel}, answer, terms
        )

    def _holds(self, n: int, seen: set[tuple[str, int, int]]) -> Fact | None:
        """Who gives a character an object."""
        pair = self._pair("holds", seen, self.objects)
        if pair is None:
            return None
        c, o = self.characters[pair[0]], self.objects[pair[1]]
        giver = self.characters[self._character()]
        answer = (
            f"{giver.name} gives {c.name} the {o.name} in "
            f"{self.rng.choice(self.places).name}, and {c.name} keeps it hidden."
        )
        return self._fact(
            n, "holds", self._tier(1, 4), {"c": c, "o": o}, {}, answer, (c.typed[1], o.typed[0])
        )

    def _at_event(self, n: int, seen: set[tuple[str, int, int]]) -> Fact | None:
        """What a character does at an event."""
        pair = self._pair("at-event", seen, self.events)
        if pair is None:
            return None
        c, e = self.characters[pair[0]], self.events[pair[1]]
        answer = (
            f"During {e.name}, {c.name} {self.rng.choice(('hides', 'fights', 'sings', 'escapes'))}"
            f" with the {self.rng.choice(self.objects).name}."
        )
        return self._fact(
            n, "at-event", self._tier(1, 5), {"c": c, "e": e}, {}, answer, (c.typed[1], e.typed[1])
        )

    def _visits(self, n: int, seen: set[tuple[str, int, int]]) -> Fact | None:
        """Why a character goes to a place."""
        pair = self._pair("visits", seen, self.places)
        if pair is None:
            return None
        c, p = self.characters[pair[0]], self.places[pair[1]]
        other = self.characters[self._character()]
        answer = f"{c.name} goes to {p.name} to find {other.name}, who {self.rng.choice(TRAITS)}."
        return self._fact(
            n, "visits", self._tier(1, 4), {"c": c, "p": p}, {}, answer, (c.typed[1], p.typed[0])
        )

    def _member(self, n: int, seen: set[tuple[str, int, int]]) -> Fact | None:
        """A character joining a group."""
        pair = self._pair("member", seen, self.groups)
        if pair is None:
            return None
        c, g = self.characters[pair[0]], self.groups[pair[1]]
        answer = (
            f"{c.name} joins {g.name} as a {c.detail} after {self.rng.choice(self.events).name}."
        )
        return self._fact(
            n, "member", self._tier(1, 4), {"c": c, "g": g}, {}, answer, (c.typed[1], g.typed[1])
        )


def synthetic_work(size: int, seed: int = 7) -> Work:
    """A deterministic generated franchise with exactly `size` facts."""
    gen = _Generator(size, seed)
    facts = tuple(gen.facts())
    summaries = {t.id: f"What happens in {t.label}." for t in gen.tiers}
    return Work(
        id=f"starfall-{size}",
        title="Starfall Chronicles",
        aliases=("starfall chronicles", "starfall", "the show", "the series"),
        tiers=gen.tiers,
        facts=facts,
        summaries=summaries,
        synonyms=dict(gen.synonyms),
        source=f"<synthetic {size}>",
    )
