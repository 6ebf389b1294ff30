"""Print how a question set fares: `python -m tests.eval_questions PATH`."""

import sys
from pathlib import Path

from bot.config import DEFAULT_FACTS_DIR
from bot.core.loader import load_works
from tests.quality import grade, load_items

if __name__ == "__main__":
    work = load_works([DEFAULT_FACTS_DIR])[0]
    report = grade(load_items(Path(sys.argv[1])), work)
    print("\n".join(report.failures))
    print(
        f"on-topic {report.correct}/{report.on_topic} ({report.accuracy:.1%}), "
        f"off-topic declined {report.declined}/{report.off_topic} ({report.decline_rate:.1%})"
    )
