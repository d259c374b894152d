"""Where cligate's time goes: ``python -m bench.profile [--route cloud|local|ollama] [--client C]``.

Serves one route against the replay upstream, sends one client's request (the opening request,
``--request loop`` for the 150k one; Claude Code's by default, ``--client responses`` is Codex's,
``--client gemini`` Gemini CLI's) in a loop
at concurrency 1 while ``py-spy`` samples the cligate process, then prints, per function, the time
it was on the stack per request (inclusive and self). py-spy is not a cligate dependency:
``.venv/bin/pip install py-spy``. Sampling slows the process, so read the figures as shares.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import measure, workload
from bench.clients import CLIENTS
from bench.paths import CLIGATE, ROWS, System, comparisons
from bench.services import cligate_config, service

LINE_NUMBER = re.compile(r":\d+\)$")
MAIN_THREAD_ROOT = "_run_module_as_main"


@dataclass(frozen=True, slots=True)
class Profile:
    requests: int
    rate_hz: int
    inclusive: Counter[str]
    own: Counter[str]
    stacks: list[tuple[list[str], int]]

    def us_per_request(self, samples: int) -> float:
        return samples * 1e6 / self.rate_hz / self.requests


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--route", choices=("cloud", "local", "ollama"), default="cloud")
    parser.add_argument(
        "--client", choices=[client.protocol for client in CLIENTS], default="anthropic"
    )
    parser.add_argument("--request", choices=("opening", "loop", "background"), default="opening")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rate", type=int, default=400, help="samples per second")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", default="", help="only functions whose name contains this")
    parser.add_argument(
        "--callers",
        default="",
        help="break this function down by the innermost caller matching --match",
    )
    return parser.parse_args()


def read_stacks(
    path: Path,
) -> tuple[Counter[str], Counter[str], list[tuple[list[str], int]]]:
    """py-spy's raw (collapsed) output, summed per function (inclusive, self), and the stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = [LINE_NUMBER.sub(")", frame) for frame in stack.split(";")]
        if not frames[0].startswith(MAIN_THREAD_ROOT):
            continue  # an idle worker thread, not the event loop
        for frame in set(frames):
            inclusive[frame] += int(count)
        own[frames[-1]] += int(count)
        stacks.append((frames, int(count)))
    return inclusive, own, stacks


def attribute(profile: Profile, function: str, match: str) -> Counter[str]:
    """Samples in ``function``, by the innermost frame above it whose name contains ``match``."""
    by_frame: Counter[str] = Counter()
    for frames, count in profile.stacks:
        hits = [i for i, frame in enumerate(frames) if function in frame]
        if not hits:
            continue
        above = [frame for frame in frames[: hits[0]] if match in frame]
        by_frame[above[-1] if above else frames[hits[0] - 1]] += count
    return by_frame


def record(args: argparse.Namespace, py_spy: str, tmp: Path) -> Profile:
    load = workload.load((args.request,))
    row = next(r for r in ROWS if r.client.protocol == args.client and r.route == args.route)
    with ExitStack() as stack:
        replay = stack.enter_context(service("bench.upstream", [], tmp / "upstream.log"))
        config = cligate_config(tmp, replay.url, args.route)
        cligate = stack.enter_context(service("bench.proxy", [str(config)], tmp / "cligate.log"))
        http = stack.enter_context(httpx.Client(timeout=30.0, trust_env=False))
        system = System(CLIGATE, CLIGATE, {row.name: cligate.url})
        pair = next(iter(comparisons(load, replay.url, [system], (row.name,))))
        for _ in range(50):
            measure.timed(http, pair.proxied)
        out = tmp / "profile.txt"
        command = [py_spy, "record", "-r", str(args.rate), "-d", str(args.seconds), "-f", "raw"]
        spy = subprocess.Popen(
            [*command, "-o", str(out), "-p", str(cligate.pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        requests = 0
        while spy.poll() is None:
            measure.timed(http, pair.proxied)
            requests += 1
    if spy.returncode != 0 or not out.exists():
        sys.exit("py-spy failed (it needs permission to ptrace the cligate process)")
    return Profile(requests, args.rate, *read_stacks(out))


def show(profile: Profile, top: int, match: str, callers: str) -> None:
    print(f"{profile.requests} requests sampled at {profile.rate_hz} Hz; µs per request:")
    for title, counts in (("inclusive", profile.inclusive), ("self", profile.own)):
        print(f"\n{title}:")
        chosen = [(f, n) for f, n in counts.most_common() if match in f][:top]
        for function, samples in chosen:
            print(f"{profile.us_per_request(samples):8.0f}  {function}")
    if not callers:
        return
    print(f"\n{callers} by caller:")
    for caller, samples in attribute(profile, callers, match).most_common(top):
        print(f"{profile.us_per_request(samples):8.0f}  {caller}")


def main() -> None:
    args = parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    with tempfile.TemporaryDirectory(prefix="cligate-profile-") as name:
        show(record(args, py_spy, Path(name)), args.top, args.match, args.callers)


if __name__ == "__main__":
    main()
