"""The same contract command, run again and again against one live server: same verdict?

    python -m contract_tests.repeat_live                 # 20 runs, demo world, 5 examples
    python -m contract_tests.repeat_live --runs 3 --examples 3 --seed 7

Starts ``mockserver serve --ephemeral --seed demo`` on a free loopback port and runs
``pytest contract_tests --base-url … --token demo-token --allow-writes`` (what
``make contract URL=… TOKEN=… ALLOW_WRITES=1`` runs) that many times in a row, against the
same server, whose world grows with every run's writes. Prints one line per run (exit
code, pytest's summary, the contract verdict) and the last run's "not exercised" and
"could not proceed" lines. Exits 0 iff every run passed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from mockserver.testkit.plugin import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "demo-token"


def _serve(port: int, data_dir: str) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "mockserver"), "serve", "--port", str(port)]
    command += ["--data-dir", data_dir, "--seed", "demo"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            reply = requests.get(
                f"{url}/v1/vision-alert/licenses/",
                headers={"Authorization": f"Token {TOKEN}"},
                timeout=2,
            )
            if reply.status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.3)
    server.terminate()
    raise SystemExit("mockserver serve did not answer within 60 s")


def _run(url: str, args, report_dir: Path) -> tuple[int, str, list[str]]:
    command = [sys.executable, "-m", "pytest", "contract_tests", "-q", "-p", "no:randomly"]
    command += ["-p", "no:cacheprovider", "--base-url", url, "--token", TOKEN, "--allow-writes"]
    command += ["--contract-examples", str(args.examples), "--contract-seed", str(args.seed)]
    command += ["--contract-report-dir", str(report_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_CONTRACT_")}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    lines = done.stdout.splitlines()
    summary = next(
        (line.strip("= ") for line in reversed(lines) if re.search(r"\d+ (passed|failed)", line)),
        "(no summary)",
    )
    contract = [line for line in lines if line.startswith(("contract verdict:", "not exercised:"))]
    contract += [line for line in lines if line.startswith("could not proceed")]
    if done.returncode != 0:
        contract += [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    return done.returncode, summary, contract


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--examples", type=int, default=5, help="--contract-examples per run")
    parser.add_argument("--seed", type=int, default=1, help="--contract-seed of every run")
    parser.add_argument("--report-dir", default=str(ROOT / "reports" / "repeat-live"))
    args = parser.parse_args(argv)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="mockserver-repeat-") as data_dir:
        server = _serve(port, data_dir)
        print(
            f"mockserver serve --seed demo on {url}; {args.runs} runs, seed {args.seed}, "
            f"{args.examples} examples",
            flush=True,
        )
        failures, last = 0, []
        started = time.monotonic()
        try:
            for number in range(1, args.runs + 1):
                began = time.monotonic()
                code, summary, last = _run(url, args, Path(args.report_dir) / f"run-{number:02d}")
                failures += code != 0
                verdict = next((line for line in last if line.startswith("contract verdict")), "")
                print(
                    f"run {number:2d}: exit {code}, {summary}, {time.monotonic() - began:.0f} s"
                    f" | {verdict}",
                    flush=True,
                )
                if code != 0:
                    print("\n".join("    " + line for line in last), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"{args.runs} consecutive live runs in {time.monotonic() - started:.0f} s: "
        f"{args.runs - failures} passed, {failures} failed"
    )
    print("last run:")
    print("\n".join("    " + line for line in last if not line.startswith("contract verdict")))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
