"""Coverage per app against the floors in pyproject.toml ([tool.socialsite.coverage-floor]).

Run after `coverage combine` (as `make test` does on PostgreSQL + Redis). Prints statements, missed
lines and the percentage per app; exits 1 when an app is below its floor or has none. A floor only
rises: when an app is a point or more above it, the line says what to raise it to.
"""

import json
import sys
import tempfile
import tomllib
from collections import defaultdict
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parent.parent
RAISE_AT = 1.0  # points above the floor before asking for a higher one


def per_app(report):
    counts = defaultdict(lambda: [0, 0])  # app -> [statements, missing]
    for path, data in report["files"].items():
        app = Path(path).parts[0]
        counts[app][0] += data["summary"]["num_statements"]
        counts[app][1] += data["summary"]["missing_lines"]
    return counts


def main():
    floors = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["socialsite"]["coverage-floor"]
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        measured = coverage.Coverage(config_file=ROOT / "pyproject.toml")
        measured.load()
        measured.json_report(outfile=out.name)
        report = json.loads(Path(out.name).read_text())
    failed = False
    print(f"{'app':<15}{'statements':>11}{'missed':>8}{'cover':>8}{'floor':>8}")
    for app, (statements, missing) in sorted(per_app(report).items()):
        cover = 100 * (statements - missing) / statements
        floor = floors.get(app)
        if floor is None:
            note, failed = "  no floor: add one", True
        elif cover < floor:
            note, failed = "  BELOW THE FLOOR", True
        elif cover >= floor + RAISE_AT:
            note = f"  raise the floor to {cover:.1f}"
        else:
            note = ""
        print(f"{app:<15}{statements:>11}{missing:>8}{cover:>7.1f}%{floor if floor is not None else '-':>8}{note}")
    totals = report["totals"]
    print(f"{'total':<15}{totals['num_statements']:>11}{totals['missing_lines']:>8}{totals['percent_covered']:>7.1f}%")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
