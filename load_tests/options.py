"""Command-line options shared by every profile, and what they mean for a run.

Every locustfile imports this module, which adds the options below to Locust's parser
(they also read ``MOCKSERVER_*`` environment variables). A run targets a real vendor
server unless ``--emulator`` is given: only then does a profile touch ``/_mock/``.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

from locust import events
from locust.runners import WorkerRunner

from .control import VENDOR_CAMERA_WINDOW, Control

#: How much shorter the emulator's per-camera window is than a compressed camera's cadence,
#: so request-latency jitter never makes two uploads of one camera fall inside one window.
WINDOW_SLACK = 0.8
#: A camera against the vendor waits a little longer than the 15 minutes for the same reason.
VENDOR_MARGIN_SECONDS = 10.0

DEFAULT_MIX = "blur=0.02,obstruction=0.02,glare=0.02,shift=0.02"


@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    parser.add_argument(
        "--token",
        env_var="MOCKSERVER_TOKEN",
        default="demo-token",
        is_secret=True,
        help="API token (Authorization: Token ...)",
    )
    parser.add_argument(
        "--emulator",
        action="store_true",
        env_var="MOCKSERVER_EMULATOR",
        default=False,
        help="the target is the emulator: its control plane may be used",
    )
    parser.add_argument(
        "--control-token",
        env_var="MOCKSERVER_CONTROL_TOKEN",
        default="",
        is_secret=True,
        help="Bearer token of the emulator's /_mock/ plane, if it has one",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="emulator only: run F times faster than the vendor (cadence 900/F s); "
        "the per-camera window, offline_after and alert_window are scaled to match",
    )
    parser.add_argument(
        "--image-width", type=int, default=1920, help="camera frame width (16:9; 1920: 1080p)"
    )
    parser.add_argument(
        "--mix",
        default=DEFAULT_MIX,
        help="share of uploads per anomaly: blur, obstruction, glare, shift (rest normal)",
    )
    parser.add_argument(
        "--offline-share",
        type=float,
        default=0.01,
        help="chance per cadence period that a camera goes silent",
    )
    parser.add_argument(
        "--silent-periods",
        type=int,
        default=6,
        help="how many cadence periods a silent camera stays silent",
    )
    parser.add_argument("--serial-prefix", default="LOAD", help="camera serials start with this")
    parser.add_argument("--sites", type=int, default=10, help="tags site-0..N-1 over the fleet")
    parser.add_argument("--gates", type=int, default=4, help="ENTRANCE/EXIT camera pairs")
    parser.add_argument(
        "--dwell-minutes",
        type=float,
        default=30.0,
        help="mean stay of a vehicle (vendor minutes; divided by --time-scale)",
    )
    parser.add_argument(
        "--max-pages",
        type=int,
        default=0,
        help="dashboard: stop following next after this many pages (0: to the end)",
    )
    parser.add_argument(
        "--ledger",
        default="",
        help="write accepted uploads and sightings to PATH.<pid>.json (lost-write checks)",
    )
    parser.add_argument("--shape-users", type=int, default=100, help="shapes: peak users")
    parser.add_argument("--shape-seconds", type=float, default=300.0, help="shapes: duration")
    parser.add_argument("--shape-spawn-rate", type=float, default=20.0, help="shapes: users/s")


@dataclass
class RunPlan:
    """What the options mean for this process: cadence, mix, and the emulator's clock."""

    token: str
    emulator: bool
    time_scale: float
    cadence: float
    window: float  # the target's per-camera window (seconds)
    image_width: int
    mix: dict[str, float]
    offline_share: float
    silent_periods: int
    serial_prefix: str
    sites: int
    gates: int
    dwell_seconds: float
    max_pages: int
    ledger: str
    clock_offset: float = 0.0  # emulator now - local wall time (seconds)
    #: emulator runs: the account's create-log throttle before the run lifted it, boxed
    #: (``(None,)``: there was none); None: not lifted by this process
    lifted_rate_limit: tuple[float | None] | None = None

    def pick_kind(self, rng: random.Random) -> str:
        draw = rng.random()
        for kind, share in self.mix.items():
            if draw < share:
                return kind
            draw -= share
        return "normal"


_plan: RunPlan | None = None


def plan(environment) -> RunPlan:
    """This process's plan (built once from the parsed options)."""
    global _plan
    if _plan is None:
        _plan = _build(environment)
    return _plan


def _build(environment) -> RunPlan:
    opts = environment.parsed_options
    scale = float(opts.time_scale)
    if scale != 1.0 and not opts.emulator:
        raise SystemExit("--time-scale needs --emulator (a vendor server keeps its cadence)")
    if scale <= 0:
        raise SystemExit("--time-scale must be > 0")
    if scale != 1.0:  # compressed: the emulator's window is set to match (see _prepare_run)
        cadence = VENDOR_CAMERA_WINDOW / scale
        window = cadence * WINDOW_SLACK
    else:
        cadence = VENDOR_CAMERA_WINDOW + VENDOR_MARGIN_SECONDS
        window = VENDOR_CAMERA_WINDOW
    return RunPlan(
        token=opts.token,
        emulator=bool(opts.emulator),
        time_scale=scale,
        cadence=cadence,
        window=window,
        image_width=int(opts.image_width),
        mix=parse_mix(opts.mix),
        offline_share=float(opts.offline_share),
        silent_periods=int(opts.silent_periods),
        serial_prefix=opts.serial_prefix,
        sites=max(1, int(opts.sites)),
        gates=max(1, int(opts.gates)),
        dwell_seconds=float(opts.dwell_minutes) * 60.0 / scale,
        max_pages=int(opts.max_pages),
        ledger=opts.ledger,
    )


def parse_mix(text: str) -> dict[str, float]:
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, share = part.partition("=")
        if kind not in ("blur", "obstruction", "glare", "shift"):
            raise SystemExit(f"--mix: unknown anomaly {kind!r}")
        mix[kind] = float(share)
    if sum(mix.values()) > 1:
        raise SystemExit("--mix: shares add up to more than 1")
    return mix


def control(environment) -> Control:
    opts = environment.parsed_options
    return Control(environment.host, opts.control_token or None)


@events.test_start.add_listener
def _prepare_run(environment, **_kwargs) -> None:
    """Emulator runs: the master (or the only process) sets the time rules; every process
    learns the emulator clock's offset so client-stamped times are emulator times."""
    run = plan(environment)
    if not run.emulator or not environment.host:
        return
    ctl = control(environment)
    if not isinstance(environment.runner, WorkerRunner):
        if run.time_scale != 1.0:
            ctl.compress_time(run.time_scale, WINDOW_SLACK)
        elif ctl.clock().get("frozen"):
            ctl.real_time()
        _lift_throttle(ctl, run)
    run.clock_offset = ctl.clock_offset()


def _lift_throttle(ctl: Control, run: RunPlan) -> None:
    """A fleet shares one account, and the vendor allows one create-log per second per
    account: the load account's throttle is off for the run and put back afterwards. An
    unknown token gets a load account seeded (no throttle, a license with room)."""
    _seeded, previous = ctl.prepare_load_account(run.token)
    run.lifted_rate_limit = (previous,)


@events.test_stop.add_listener
def _restore_throttle(environment, **_kwargs) -> None:
    run = _plan
    if run is None or not run.emulator or run.lifted_rate_limit is None:
        return
    (previous,) = run.lifted_rate_limit
    run.lifted_rate_limit = None
    if previous is not None:
        control(environment).set_rate_limit(run.token, previous)


def token_header(environment) -> dict[str, str]:
    return {"Authorization": f"Token {plan(environment).token}"}


def ledger_path(base: str) -> str:
    return f"{base}.{os.getpid()}.json"
