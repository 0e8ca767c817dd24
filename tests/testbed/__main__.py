"""Command line for people: ``python -m tests.testbed {bindir,missing,up}``.

- ``bindir``   print the bin directory (the same path tests/testbed/build prints last)
- ``missing``  print binaries not built yet, one a line; exit 1 if any
- ``up``       start clusters A and B, print their kubeconfig paths, stay up until Ctrl-C
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from tests import testbed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.testbed", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("bindir", help="print the directory of the built binaries")
    sub.add_parser("missing", help="list binaries not built yet")
    sub.add_parser("up", help="start clusters A and B until Ctrl-C")
    args = parser.parse_args(argv)

    if args.command == "bindir":
        print(testbed.bin_dir())
        return 0
    if args.command == "missing":
        missing = testbed.missing_binaries()
        for name in missing:
            print(name)
        return 1 if missing else 0

    start = time.monotonic()
    try:
        tb = testbed.start_testbed()
    except testbed.TestbedUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()
    # Explicit handlers: a background job may inherit SIGINT as ignored.
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(f"testbed up in {time.monotonic() - start:.1f}s (Ctrl-C stops it)")
        for c in tb.clusters:
            print(f"cluster {c.name}: {c.server}  marker namespace {c.marker_namespace}")
            print(f"  export KUBECONFIG={c.admin_kubeconfig}   # admin")
            print(f"  viewer kubeconfig: {c.viewer_kubeconfig}")
            print(f"  logs: {c.workdir / 'logs'}")
        print(f"binaries: {testbed.bin_dir()}", flush=True)
        stop.wait()
    finally:
        print("stopping testbed ...", file=sys.stderr)
        tb.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
