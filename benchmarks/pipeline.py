"""The whole analysis (language, redaction, categories, urgency, factory) on one core.

    .venv/bin/python -m benchmarks.pipeline [--messages 20000] [--model PATH]

Prints messages/s and peak memory after loading. Targets: 1,000 messages/s, under 500 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import phonenumbers

from intake.pipeline.analyze import Analyzer
from intake.pipeline.evaluate import load_evaluation_set
from intake.pipeline.types import FactoryRef

FACTORIES = [
    FactoryRef(f"F-{n:04d}", (f"Factory {n} Electronics", f"Plant {n}")) for n in range(1, 200)
]


def region(number: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    # One core, as the target says: no thread pools under numpy or scikit-learn.
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    items = load_evaluation_set()
    inputs = [(item.text, region(item.sender), region(item.hotline)) for item in items]
    before = peak_mb()
    started = time.perf_counter()
    analyzer = Analyzer(factories=FACTORIES, model_path=args.model)
    analyzer.analyze("warm up 0812345678", sender_region="TH", hotline_region="TH")
    loaded = time.perf_counter() - started
    after_load = peak_mb()

    started = time.perf_counter()
    for n in range(args.messages):
        text, sender, hotline = inputs[n % len(inputs)]
        analyzer.analyze(text, sender_region=sender, hotline_region=hotline)
    elapsed = time.perf_counter() - started

    print(f"messages: {args.messages} ({len(inputs)} distinct, 14 languages); model: {args.model}")
    print(f"load: {loaded:.2f} s; peak memory: {before:.0f} MB before, {after_load:.0f} MB after "
          f"loading, {peak_mb():.0f} MB at the end (target < 500 MB)")
    print(f"throughput: {args.messages / elapsed:,.0f} messages/s on one core, "
          f"{elapsed / args.messages * 1e6:.0f} us/message (target >= 1,000/s)")


if __name__ == "__main__":
    main()
