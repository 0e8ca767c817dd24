"""python -m bench: measure k8smcp against raw kubectl and its peers on the testbed.

See bench/README.md for what each part measures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.runner import PARTS, main

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated parts to run (default all: {','.join(PARTS)})",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=10.0,
        help="seconds each throughput step runs (default 10)",
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=100,
        help="calls per entry point for latency and discovery (default 100, at least 50 "
        "for the report); memory runs 500 and 5000 unless --memory-calls says less",
    )
    parser.add_argument(
        "--slow-calls",
        type=int,
        default=50,
        help="latency rounds of `k8smcp run` and `call` (default 50): a Python start-up "
        "each, measured in rounds of their own beside raw kubectl",
    )
    parser.add_argument(
        "--memory-calls",
        type=int,
        default=5000,
        help="calls for the memory part's growth check (default 5000; the first mark is a tenth)",
    )
    parser.add_argument(
        "--concurrency",
        default="1,8,32,64",
        help="throughput concurrency levels (default 1,8,32,64)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results directory")
    parser.add_argument(
        "--latency-budget",
        type=float,
        default=900.0,
        help="seconds after which the latency part stops adding rounds (default 900)",
    )
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="use this cluster (an admin kubeconfig) instead of starting the testbed",
    )
    parser.add_argument("--no-seed", action="store_true", help="do not create the seed objects")
    parser.add_argument(
        "--loopback-literal",
        action="store_true",
        help="reach the testbed at https://127.0.0.1 as its kubeconfig says, not by this "
        "host's name (a loopback literal is the one server a confined child reaches "
        "through proxy-url, which costs kubectl per object listed: bench/README.md)",
    )
    parser.add_argument(
        "--wire-base",
        default="0c2f811",
        help="the commit whose k8smcp is 'before' in part 'wire' (default 0c2f811, before "
        "issue 15)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also sample the server with py-spy under load (part 'profile')",
    )
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown parts {unknown}; choose from {list(PARTS)}")
    if args.profile and "profile" not in args.parts:
        args.parts.append("profile")
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    return args


if __name__ == "__main__":
    sys.exit(main(parse(sys.argv[1:])))
