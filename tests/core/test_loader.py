"""The loader accepts the shipped facts and rejects each kind of broken file precisely."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import DEFAULT_FACTS_DIR
from bot.core.loader import FactFileError, load_work, load_works

GOOD = """\
work:
  id: tiny
  title: Tiny Film
  aliases: [tiny]
tiers:
  - id: start
    label: Start
    description: the beginning
  - id: end
    label: End
    description: everything
facts:
  - id: director
    tier: start
    answer: Someone directed it.
    questions: [who directed it]
    terms: [director]
  - id: finale
    tier: end
    answer: It ends well.
    questions: [how does it end]
    terms: [ending]
summaries:
  start: It starts.
  end: It ends.
"""


def write(tmp_path: Path, text: str | bytes, name: str = "film.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(FactFileError) as caught:
        load_work(path)
    return [str(p) for p in caught.value.problems]


def test_good_file_loads(tmp_path: Path) -> None:
    work = load_work(write(tmp_path, GOOD))
    assert [t.id for t in work.tiers] == ["start", "end"]
    assert [t.index for t in work.tiers] == [0, 1]
    assert work.facts[1].tier is work.tiers[1]
    assert work.summaries == {"start": "It starts.", "end": "It ends."}


def test_people_are_optional_names(tmp_path: Path) -> None:
    assert load_work(write(tmp_path, GOOD)).people == ()
    named = GOOD.replace("  aliases: [tiny]\n", "  aliases: [tiny]\n  people: [Jay, Nan-young]\n")
    assert load_work(write(tmp_path, named)).people == ("Jay", "Nan-young")
    broken = GOOD.replace("  aliases: [tiny]\n", "  aliases: [tiny]\n  people: Jay\n")
    assert problems(write(tmp_path, broken)) == [
        f"{tmp_path / 'film.yaml'}:5: work.people: must be a list, got text"
    ]


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    broken = GOOD.replace("tier: end\n", "tier: middle\n").replace("Someone directed it.", "''")
    found = problems(write(tmp_path, broken))
    assert len(found) == 2
    assert any("unknown tier 'middle'" in p for p in found)
    assert any("facts[0] (director).answer: is empty" in p for p in found)


def test_duplicate_work_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(FactFileError, match="duplicate work id 'tiny'"):
        load_works([tmp_path])


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FactFileError, match="no fact files"):
        load_works([tmp_path])


def test_shipped_facts_load() -> None:
    (work,) = load_works([DEFAULT_FACTS_DIR])
    assert [t.id for t in work.tiers] == ["premise", "setup", "departure", "mars", "ending"]
    assert len(work.facts) >= 40
    assert set(work.summaries) == {t.id for t in work.tiers}


def test_validate_command(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "bot", "validate"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok (Lost in Starlight" in ok.stdout
    bad = write(tmp_path, GOOD.replace("tier: end\n", "tier: middle\n"))
    out = subprocess.run(
        [sys.executable, "-m", "bot", "validate", str(bad)], capture_output=True, text=True
    )
    assert out.returncode == 1
    assert f"{bad}:19: facts[1] (finale).tier: unknown tier 'middle'" in out.stdout


BROKEN = Path(__file__).parents[1] / "data" / "broken-facts"
EXPECTED = yaml.safe_load((BROKEN.parent / "broken-facts.expected.yaml").read_text("utf-8"))


def test_broken_corpus_is_complete() -> None:
    assert len(EXPECTED) >= 20
    assert sorted(EXPECTED) == sorted(p.name for p in BROKEN.glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_corpus_file_is_rejected_precisely(name: str) -> None:
    assert EXPECTED[name], "every file in the corpus is broken in some way"
    found = [p.replace(f"{BROKEN}/", "") for p in problems(BROKEN / name)]
    assert found == EXPECTED[name]
