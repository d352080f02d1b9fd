"""Whole-document validation: ``Ruleset.from_dict(doc)`` of a 1,000-flag ruleset, cold.

The document is ``bench_engine.make_document(n)`` (the issue's mix). Each round runs a
fresh child process that validates it ``--repeat`` times (the gc on, as in a serving
process) and reports its fastest time, which is the least disturbed by the rest of a
shared machine. The figure is the median over rounds.

With ``--against REV`` each round also runs the same child on the package as it was at
git revision ``REV``, right after, and the paired ratio (this tree / ``REV``, median of the
rounds) is printed: the change in validation cost, free of how fast the machine is.

With ``--validator`` each round also times the validator's own calls on the same pieces
(pydantic's ``model_validate`` and the strategies' ``model_dump``), alone: the most a
faster validator could save, as a share of this tree's figure.

    python benchmarks/bench_validate.py [--flags 1000] [--rounds 9] [--against REV]
        [--validator] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_engine import make_document
from benchmarks.revision import ROOT, checkout, compiled, on_path

_CHILD = """
import gc, json, time
import flagware
with open(DOC, encoding="utf-8") as f:
    doc = json.load(f)
flagware.Ruleset.from_dict(doc)  # the models built, the caches warm
best = float("inf")
for _ in range(REPEAT):
    gc.collect()
    start = time.perf_counter()
    flagware.Ruleset.from_dict(doc)
    best = min(best, time.perf_counter() - start)
print(best * 1e3)
"""

# The validator's own part of the same work: the pydantic calls parse makes on the
# document's pieces (the top level, each flag, each strategy and its ``when``, and the
# strategy's document form), without the rest of the parse. What a faster validator could
# at most save.
_VALIDATOR = """
import gc, json, time
from flagware.ruleset.parse import DocumentModel, FlagModel, WhenModel
from flagware.strategies.registry import lookup
with open(DOC, encoding="utf-8") as f:
    doc = json.load(f)
def validate():
    DocumentModel.model_validate(doc)
    for raw in doc["flags"].values():
        FlagModel.model_validate(raw)
        for s in raw.get("strategies", ()):
            params = {k: v for k, v in s.items() if k not in ("type", "when")}
            lookup(s["type"]).model_validate(params).model_dump(mode="json", exclude_none=True)
            if "when" in s:
                WhenModel.model_validate({"when": s["when"]})
validate()
best = float("inf")
for _ in range(REPEAT):
    gc.collect()
    start = time.perf_counter()
    validate()
    best = min(best, time.perf_counter() - start)
print(best * 1e3)
"""


VALIDATOR = "its validator calls"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--against", metavar="REV", help="Also validate as git revision REV.")
    parser.add_argument(
        "--validator",
        action="store_true",
        help="Also time the validator's own calls (pydantic's) on the same pieces.",
    )
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        doc = Path(scratch) / "doc.json"
        doc.write_text(json.dumps(make_document(args.flags)), encoding="utf-8")
        code, validator = (
            child.replace("DOC", repr(str(doc))).replace("REPEAT", str(args.repeat))
            for child in (_CHILD, _VALIDATOR)
        )
        trees = {"this tree": compiled(ROOT)}
        if args.against:
            old = Path(scratch) / "against"
            old.mkdir()
            trees[args.against] = checkout(args.against, old)
        times: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                out = subprocess.run(
                    on_path(tree, code), check=True, capture_output=True, text=True
                ).stdout
                times[name].append(float(out))
            if args.validator:
                out = subprocess.run(
                    on_path(trees["this tree"], validator),
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                times.setdefault(VALIDATOR, []).append(float(out))
    figures: dict[str, object] = {
        "flags": args.flags,
        "ms": {name: statistics.median(t) for name, t in times.items()},
        "rounds": times,
    }
    if args.against:
        pairs = zip(times["this tree"], times[args.against], strict=True)
        figures["ratio"] = statistics.median(new / old for new, old in pairs)
    if args.validator:
        pairs = zip(times[VALIDATOR], times["this tree"], strict=True)
        figures["validator_share"] = statistics.median(part / whole for part, whole in pairs)
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"Ruleset.from_dict, {args.flags:,} flags, fastest of {args.repeat} per process, "
        f"median of {args.rounds} rounds"
    )
    for name, t in times.items():
        print(f"  {name:20} {statistics.median(t):8.2f} ms  ({min(t):.2f}-{max(t):.2f})")
    if args.against:
        print(f"  this tree / {args.against}, paired by round: {figures['ratio']:.3f}")
    if args.validator:
        print(f"  the validator's share of this tree's, paired: {figures['validator_share']:.3f}")


if __name__ == "__main__":
    main()
