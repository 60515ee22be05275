"""What the benchmark commands (bench_feed, bench_chat, ...) share: nearest-rank percentiles
and a command that narrates its steps with their durations."""

import math
import time

from django.core.management.base import BaseCommand


def percentile(samples, q):
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


class BenchmarkCommand(BaseCommand):
    def say(self, text=""):
        self.stdout.write(text)
        self.stdout.flush()

    def step(self, text):
        self._step_started = time.perf_counter()
        self.say(f"… {text}")

    def done(self, text=""):
        self.say(f"  done in {time.perf_counter() - self._step_started:.1f} s {text}".rstrip())
