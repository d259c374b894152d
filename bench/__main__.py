"""``python -m bench [--quick]``: cligate against a direct connection and against the proxies
users would pick instead (claude-code-router, LiteLLM), in the same run, on the same upstream.

Separate processes on loopback: this client, a replay upstream (``bench.upstream``), cligate
(``bench.proxy``, one process per route), the peers (installed on first use by
``bench.peers``) and a bare reference relay (``bench.relay_floor``). Results go to
``bench/results/latest.md`` (tables), ``latest.png`` (plot) and ``latest.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench import markdown, peers, report, streams, workload
from bench.progress import say
from bench.run import Plan, in_process, measure_all
from bench.systems import CCR, LITELLM

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]
SHARED_ROWS = ("Anthropic pass-through", "Anthropic → Chat")

PLANS = {
    "quick": Plan(
        "quick",
        rounds={"opening": 20, "loop": 3, "background": 20},
        warmup=3,
        repeats=2,
        per_client=4,
        load_seconds=1.5,
        load_repeats=1,
        load_rows=SHARED_ROWS,
        paced_tokens=40,
        bridge_chunks=10_000,
        bridge_best_of=3,
        classifier_warm=100,
        classifier_cold=5,
    ),
    "full": Plan(
        "full",
        rounds={"opening": 250, "loop": 30, "background": 250},
        warmup=20,
        repeats=3,
    ),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="about a minute, fewer samples")
    parser.add_argument("--setup", action="store_true", help="install the peers, then stop")
    parser.add_argument("--no-peers", action="store_true", help="cligate and direct only")
    parser.add_argument("--rounds", type=int, help="timed rounds per request at concurrency 1")
    parser.add_argument("--repeats", type=int, help="runs of each measurement")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.* go")
    parser.add_argument(
        "--update-reference", action="store_true", help="copy latest.md to reference.md after"
    )
    return parser.parse_args(argv)


def plan_for(args: argparse.Namespace) -> Plan:
    plan = PLANS["quick" if args.quick else "full"]
    if args.rounds:
        plan = replace(plan, rounds=dict.fromkeys(plan.rounds, args.rounds))
    repeats = args.repeats or plan.repeats
    return replace(plan, repeats=repeats, load_repeats=min(repeats, plan.load_repeats))


def sizes(load: workload.Workload) -> dict[str, Any]:
    return {
        request.name: {
            "name": request.name,
            "label": request.label,
            "bodies": {
                protocol: {
                    "client_bytes": len(body.client),
                    "chat_bytes": len(body.chat),
                    "ollama_bytes": len(body.ollama),
                    "input_tokens": body.input_tokens,
                }
                for protocol, body in request.bodies.items()
            },
        }
        for request in load.requests.values()
    }


def execute(
    plan: Plan, command: str, installed: dict[str, peers.Installed], out: Path
) -> dict[str, Any]:
    """Measure everything, write latest.json, latest.png (when it can) and latest.md."""
    load = workload.load(plan.requests)
    running = [name for name in (CCR, LITELLM) if name in installed and installed[name].ok]
    measured = measure_all(plan, load, running)
    for name, state in installed.items():
        if name in (CCR, LITELLM) and not state.ok:
            measured.missing[name] = state.note
    figures = in_process(plan)
    setup = report.Setup(
        command=command,
        mode=plan.mode,
        plan=asdict(plan),
        requests=sizes(load),
        stream_frames={name: len(make(200).frames) for name, make in streams.STREAMS.items()},
        peers={name: asdict(state) for name, state in installed.items()},
    )
    results = report.build(setup, measured, figures["bridge"], figures["classifier"])
    report.write(results, out, "")
    results["plot"] = plot(out / "latest.json", out / "latest.png")
    report.write(results, out, markdown.render(results))
    return results


def plot(source: Path, png: Path) -> str:
    """Draw ``png`` from ``source``; '' when drawn, else why not."""
    python = peers.plot_venv() / "bin" / "python"
    if not python.exists():
        if importlib.util.find_spec("matplotlib") is None:
            png.unlink(missing_ok=True)
            return "not drawn: matplotlib is not installed (python -m bench --setup)"
        python = Path(sys.executable)
    command = [str(python), "-m", "bench.plot", str(source), str(png)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"not drawn: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
    return ""


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.setup:
        for state in peers.setup().values():
            print(f"{state.name} {state.version}: {'ok' if state.ok else state.note}")
        return
    installed = {} if args.no_peers else peers.setup()
    command = "python -m bench" + (" --quick" if args.quick else "")
    results = execute(plan_for(args), command, installed, args.out)
    latest = args.out / "latest.md"
    if args.update_reference:
        shutil.copyfile(latest, args.out / "reference.md")
    print(latest.read_text(encoding="utf-8"))
    say(f"written: {latest}, latest.json" + ("" if results["plot"] else ", latest.png"))
    if results["plot"]:
        say(f"plot {results['plot']}")


if __name__ == "__main__":
    main()
