"""The query-path profiler counts each stage's own time once (a stage inside another is not the outer's)."""
from __future__ import annotations

from retrieval.bench_querypath import StageClock


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_nested_stage_is_not_counted_in_the_outer_one():
    now = FakeClock()
    clock = StageClock(now)

    def inner_work():
        now.t += 5.0

    inner = clock.wrap("inner", inner_work)

    def outer_work():
        now.t += 1.0
        inner()
        now.t += 2.0

    clock.wrap("outer", outer_work)()
    inner()
    assert clock.spent == {"outer": 3.0, "inner": 10.0}
