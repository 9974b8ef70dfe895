"""Load shapes: ramp, spike, soak. Pick one by adding its file to ``-f``:

    locust -f load_tests/fleet.py,load_tests/shapes/ramp.py --headless ... \
        --shape-users 1000 --shape-seconds 600 --shape-spawn-rate 50

A shape overrides ``-u``/``-r``/``-t``; its size comes from ``--shape-users`` (peak),
``--shape-seconds`` (whole run) and ``--shape-spawn-rate``.
"""

from __future__ import annotations

from locust import LoadTestShape


class _Shaped(LoadTestShape):
    abstract = True

    def options(self) -> tuple[int, float, float]:
        opts = self.runner.environment.parsed_options
        return int(opts.shape_users), float(opts.shape_seconds), float(opts.shape_spawn_rate)


class RampShape(_Shaped):
    """Up in five equal steps over the first half, hold the peak, then stop."""

    abstract = True

    def tick(self):
        peak, seconds, rate = self.options()
        elapsed = self.get_run_time()
        if elapsed >= seconds:
            return None
        step = min(5, int(elapsed / (seconds / 2) * 5) + 1)
        return max(1, peak * step // 5), rate


class SpikeShape(_Shaped):
    """A tenth of the peak, a sudden spike to the peak in the middle fifth, back down."""

    abstract = True

    def tick(self):
        peak, seconds, rate = self.options()
        elapsed = self.get_run_time()
        if elapsed >= seconds:
            return None
        if 0.4 * seconds <= elapsed < 0.6 * seconds:
            return peak, max(rate, peak)  # as fast as possible: that is the spike
        return max(1, peak // 10), rate


class SoakShape(_Shaped):
    """The peak, held for the whole run (find leaks and slow growth)."""

    abstract = True

    def tick(self):
        peak, seconds, rate = self.options()
        if self.get_run_time() >= seconds:
            return None
        return peak, rate
