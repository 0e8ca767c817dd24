"""Turns results.json into report.md, two PNG plots and a table on the terminal."""

# ruff: noqa: E501  (Markdown rows read better whole)

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

BASE = "raw kubectl"
# rows whose kubectl runs with Go's default GOGC (k8smcp gives its children 200)
STOCK = "stock GOGC"


def tp_target(target: str, max_concurrency: int | None) -> str:
    """A throughput target's label, with its max-concurrency when that is not the part's 64."""
    return f"{target} (max-concurrency {max_concurrency})" if max_concurrency else target


def _tp_target(row: dict[str, Any]) -> str:
    return tp_target(row["target"], row.get("max_concurrency"))


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _mode_of(name: str) -> str:
    return "on" if "[cache on]" in name else "off" if "[cache off]" in name else ""


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 5 with the measured value and PASS/FAIL (per cache mode)."""
    rows: list[dict[str, Any]] = []
    parts = results["parts"]

    def add(target: str, value: str, passed: bool | None, mode: str = "") -> None:
        verdict = "n/a" if passed is None else "PASS" if passed else "FAIL"
        rows.append({"target": target, "cache": mode, "measured": value, "verdict": verdict})

    conf = parts.get("confinement", {})
    if "added_median_ms" in conf:
        added = conf["added_median_ms"]
        errors = sum(row["errors"] for row in conf["rows"].values())
        add(
            f"confinement adds ≤ {conf['goal_ms']:g} ms per call (`{conf['command']}`, median)",
            f"{_fmt(added, 2)} ms (medians: {_fmt(conf['added_medians_ms'], 2)} ms)",
            None if math.isnan(added) else added <= conf["goal_ms"] and errors == 0,
        )

    lat = parts.get("latency", {}).get("commands", {})
    for command, summary in lat.items():
        for name, row in summary.items():
            limit = (
                1.10 if name.startswith("REST") else 1.20 if name.startswith("MCP HTTP") else None
            )
            if limit is None:
                continue
            r = row["ratio_median"]
            add(
                f"{name.split(' [')[0]} median ≤ {limit:.2f}× raw kubectl (`{command}`)",
                f"{_fmt(r, 2)}× ({_fmt(row['median_ms'])} vs {_fmt(summary[BASE]['median_ms'])} ms)",
                None if math.isnan(r) else r <= limit and row["errors"] == 0,
                _mode_of(name),
            )
    tp = parts.get("throughput", {})
    for row in tp.get("rows", []):
        if row["target"].startswith(BASE) or row["concurrency"] not in (32, 64):
            continue
        r = row.get("ratio")
        add(
            f"{row['target'].split(' [')[0]} throughput ≥ 0.9× raw kubectl at {row['concurrency']}, 0 errors"
            + (
                f" (max-concurrency {row['max_concurrency']})" if row.get("max_concurrency") else ""
            ),
            f"{_fmt(r, 2)}× ({_fmt(row['calls_per_s'], 1)} vs {_fmt(row['base_calls_per_s'], 1)} calls/s), "
            f"{row['errors']} errors",
            None if r is None or math.isnan(r) else r >= 0.9 and row["errors"] == 0,
            _mode_of(row["target"]),
        )
    peers = parts.get("peers", {})
    ours = {
        t["concurrency"]: t
        for t in peers.get("peers", {}).get(peers.get("k8smcp"), {}).get("throughput", [])
    }
    for name, row in peers.get("peers", {}).items():
        for theirs in row.get("throughput", []) if row.get("wraps_cli") else []:
            mine = ours.get(theirs["concurrency"])
            if mine is None or theirs["concurrency"] not in (32, 64):
                continue
            add(
                f"k8smcp ahead of {name} at {theirs['concurrency']} clients (peers part, as shipped)",
                f"{_fmt(mine['calls_per_s'], 1)} vs {_fmt(theirs['calls_per_s'], 1)} calls/s, "
                f"{mine['errors']} errors",
                mine["calls_per_s"] > theirs["calls_per_s"] and mine["errors"] == 0,
            )
    disc = parts.get("discovery", {}).get("rows", {})
    if BASE in disc:
        base = disc[BASE]["per_call"]
        for name, row in disc.items():
            if name == BASE:
                continue
            add(
                f"{name.split(' [')[0]}: API requests per call ≤ raw kubectl warm",
                f"{_fmt(row['per_call'], 2)} vs {_fmt(base, 2)}",
                row["per_call"] <= base + 0.1,  # background noise is about ±0.05
                _mode_of(name),
            )
    st = parts.get("startup", {})
    for key, label, limit in (
        ("help", "`k8smcp --help` < 150 ms", 150),
        ("stdio_tools_list", "stdio first tools/list < 1.0 s", 1000),
        ("serve_ready", "serve ready (/health) < 1.5 s", 1500),
    ):
        if key in st:
            value = st[key]["median_ms"]
            add(label, f"{_fmt(value)} ms (median of {st[key]['n']})", value < limit)
    percall = parts.get("percall", {}).get("rows", {})
    for prefix, limit in (("k8smcp run", 2.5), ("k8smcp call", 3.0)):
        for name, row in percall.items():
            if not name.startswith(prefix):
                continue
            r = row["ratio_median"]
            how = ""
            if prefix == "k8smcp run":  # a terminal's default is the warm process
                warm = "K8SMCP_WARM=1" in name
                how = " at a terminal (warm)" if warm else " in a script (cold)"
            add(
                f"`{prefix}`{how} median ≤ {limit}× raw kubectl (`get ns`, per-call part)",
                f"{_fmt(r, 2)}× ({_fmt(row['median_ms'])} vs {_fmt(percall[BASE]['median_ms'])} ms)",
                None if math.isnan(r) else r <= limit and row["errors"] == 0,
                _mode_of(name),
            )
    mem = parts.get("memory", {})
    if "idle_kb" in mem:
        add("idle RSS < 120 MB", f"{mem['idle_kb'] / 1024:.1f} MB", mem["idle_kb"] < 120 * 1024)
    if "growth_kb" in mem:
        add(
            f"no RSS growth from {mem['calls_first']} to {mem['calls_all']} calls",
            f"{mem['rss_first_kb'] / 1024:.1f} → {mem['rss_all_kb'] / 1024:.1f} MB "
            f"({mem['growth_kb'] / 1024:+.1f} MB)",
            None
            if mem["calls_all"] < 5000  # too few calls to judge the 5000-call target
            else mem["growth_kb"] <= max(0.05 * mem["rss_first_kb"], 5 * 1024),
        )
    return rows


def markdown(results: dict[str, Any]) -> str:
    parts = results["parts"]
    lines = [
        "# k8smcp benchmark report",
        "",
        f"Run {results['started']}, {results.get('elapsed_s', '?')} s. "
        "Every ratio compares figures measured in this same run.",
        "",
        "| machine | |",
        "| --- | --- |",
    ]
    for key, value in {**results["machine"], **results["versions"]}.items():
        lines.append(f"| {key} | {value} |")
    lines.append(
        f"| K8SMCP_DISCOVERY_CACHE known to this k8smcp | "
        f"{'yes' if results.get('discovery_cache_setting_present') else 'no (off and on run the same code)'} |"
    )
    if "seed" in results:
        lines.append(f"| seeded pods | {results['seed']} |")
    if "server" in results:
        lines.append(f"| API server reached | {results['server']} (`--loopback-literal`) |")
    if results.get("k8smcp_max_output_bytes"):
        lines.append(
            f"| K8SMCP_MAX_OUTPUT_BYTES of every k8smcp process | {results['k8smcp_max_output_bytes']} |"
        )
    lines += [
        "",
        "## Targets",
        "",
        "| target | cache | measured | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for row in targets(results):
        lines.append(
            f"| {row['target']} | {row['cache']} | {row['measured']} | **{row['verdict']}** |"
        )

    if "latency" in parts and "commands" in parts["latency"]:
        lat = parts["latency"]
        lines += [
            "",
            "## 1. Per-call latency",
            "",
            f"{lat['calls']} calls per entry point and command, in shuffled rounds; ms; ratio = "
            "median / raw kubectl's median from the same rounds. `k8smcp run` and "
            f"`k8smcp call` start Python for each call: they ran {lat.get('slow_calls', '–')} "
            "rounds of their own beside raw kubectl (its row from those rounds is shown "
            "too), so that their start-up does not disturb the servers' figures. "
            "`httpx REST` is REST through httpx, for scale: the other HTTP drivers use "
            "bench/http1.py. See `latency.png`.",
        ]
        for command, summary in lat["commands"].items():
            lines += [
                "",
                f"`kubectl {command}`",
                "",
                "| entry point | median | p95 | ratio (median) | ratio (p95) | errors | output bytes | truncated |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
            for name, row in summary.items():
                lines.append(
                    f"| {name} | {_fmt(row['median_ms'])} | {_fmt(row['p95_ms'])} | "
                    f"{_fmt(row['ratio_median'], 2)} | {_fmt(row['ratio_p95'], 2)} | "
                    f"{row['errors']}/{row['n']} | {row['size']} | {row.get('truncated', '–')} |"
                )
    lines += _failed("latency", parts)

    if "throughput" in parts and "rows" in parts["throughput"]:
        tp = parts["throughput"]
        lines += [
            "",
            "## 2. Throughput",
            "",
            f"`kubectl {tp['command']}`, N clients each calling in a loop for {tp['duration']} s"
            + (
                f", in {tp['slices']} turns interleaved with the other targets' at the same N"
                if tp.get("slices")
                else ""
            )
            + ". Raw kubectl: N parallel subprocess loops. ratio = calls/s ÷ raw kubectl's at "
            "the same N. See `throughput.png`.",
            "",
            "| target | clients | calls/s | ratio | p50 ms | p95 ms | calls | errors |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in tp["rows"]:
            lines.append(
                f"| {_tp_target(row)} | {row['concurrency']} | {_fmt(row['calls_per_s'], 1)} | "
                f"{_fmt(row.get('ratio'), 2)} | {_fmt(row['median_ms'])} | {_fmt(row['p95_ms'])} | "
                f"{row['calls']} | {row['errors']}{' — ' + row['first_error'][:80] if row['first_error'] else ''} |"
            )
    lines += _failed("throughput", parts)

    if "discovery" in parts and "rows" in parts["discovery"]:
        d = parts["discovery"]
        lines += [
            "",
            "## 3. Requests to the API server per call",
            "",
            f"`kubectl {d['command']}`, {d['calls']} calls each, counted from the API server's "
            "`apiserver_request_total` (before/after, lease renewals and events of the "
            f"control plane left out, idle background of {d['background_per_s']:.3f}/s subtracted).",
            "",
            "| entry point | requests per call | breakdown per call |",
            "| --- | --- | --- |",
        ]
        for name, row in d["rows"].items():
            breakdown = ", ".join(f"{k} {v:.2f}" for k, v in row["breakdown"].items())
            lines.append(f"| {name} | {_fmt(row['per_call'], 2)} | {breakdown} |")
    lines += _failed("discovery", parts)

    if "confinement" in parts and "rows" in parts["confinement"]:
        c = parts["confinement"]
        lines += [
            "",
            "## 9. What confinement costs",
            "",
            f"`kubectl {c['command']}`, {c['calls']} shuffled rounds; REST to two servers, "
            "K8SMCP_CONFINE=true and false (cache on). Added per call: "
            f"**{_fmt(c['added_median_ms'], 2)} ms** (median of per-round differences; "
            f"difference of medians {_fmt(c['added_medians_ms'], 2)} ms).",
            "",
            "| entry point | median ms | p95 ms | × raw kubectl | errors |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, row in c["rows"].items():
            lines.append(
                f"| {name} | {_fmt(row['median_ms'], 1)} | {_fmt(row['p95_ms'], 1)} | "
                f"{_fmt(row['ratio_median'], 2)} | {row['errors']} |"
            )
    lines += _failed("confinement", parts)

    if "startup" in parts and "help" in parts["startup"]:
        st = parts["startup"]
        lines += [
            "",
            "## 4. Start-up",
            "",
            "| what | median ms | p95 ms | n |",
            "| --- | --- | --- | --- |",
        ]
        for key, label in (
            ("help", "`k8smcp --help`"),
            ("version", "`k8smcp --version`"),
            ("stdio_tools_list", "`k8smcp stdio` → first tools/list answer"),
            ("serve_ready", "`k8smcp serve` → /health answers"),
            ("kubectl_version", "raw `kubectl version --client` (for scale)"),
        ):
            if key in st:
                lines.append(
                    f"| {label} | {_fmt(st[key]['median_ms'])} | {_fmt(st[key]['p95_ms'])} | {st[key]['n']} |"
                )
        if st.get("imports"):
            lines += ["", "Slowest imports of `k8smcp --help` (`-X importtime`, cumulative):", ""]
            lines += [f"- `{m}` {us / 1000:.0f} ms" for m, us in st["imports"]]
    lines += _failed("startup", parts)

    if "memory" in parts and "idle_kb" in parts["memory"]:
        m = parts["memory"]
        lines += [
            "",
            "## 5. Memory of the server process (children excluded)",
            "",
            "| when | VmRSS MB | VmHWM MB |",
            "| --- | --- | --- |",
        ]
        for mark in m["marks"]:
            lines.append(
                f"| {mark['when']} | {mark['VmRSS'] / 1024:.1f} | {mark['VmHWM'] / 1024:.1f} |"
            )
        lines.append("")
        lines.append(
            f"Peak under {m['peak_concurrency']} concurrent calls: {m['peak_kb'] / 1024:.1f} MB; "
            f"errors during the part: {m['errors']}."
        )
    lines += _failed("memory", parts)

    if "peers" in parts and "peers" in parts["peers"]:
        p = parts["peers"]
        lines += [
            "",
            "## 6. Peers",
            "",
            f"The same operation through each server's own MCP tool: the pods of namespace "
            f"`{p['namespace']}` ({p.get('pods', '?')} pods). Latency over {p['calls']} calls; "
            f"throughput for {p['duration']} s per level"
            + (
                f", in {p['slices']} turns interleaved across the servers."
                if p.get("slices")
                else ", the servers one after the other at each level."
            ),
            "",
            "| server | version | transport | tool | median ms | p95 ms | errors | status |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, row in p["peers"].items():
            lat_row = row.get("latency") or {}
            lines.append(
                f"| {name} | {row.get('version', '')} | {row.get('transport', '')} | "
                f"`{row.get('tool', '')}` | {_fmt(lat_row.get('median_ms'))} | "
                f"{_fmt(lat_row.get('p95_ms'))} | {lat_row.get('errors', '–')} | {row['status']} |"
            )
        tp_rows = [(n, r) for n, r in p["peers"].items() if r.get("throughput")]
        if tp_rows:
            levels = sorted({t["concurrency"] for _, r in tp_rows for t in r["throughput"]})
            lines += [
                "",
                "Calls per second (errors) by concurrent clients:",
                "",
                "| server | " + " | ".join(str(c) for c in levels) + " |",
                "| --- | " + " | ".join("---" for _ in levels) + " |",
            ]
            for name, row in tp_rows:
                by = {t["concurrency"]: t for t in row["throughput"]}
                cells = [
                    f"{by[c]['calls_per_s']:.1f} ({by[c]['errors']})" if c in by else "–"
                    for c in levels
                ]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
        why = [(n, r["why"]) for n, r in p["peers"].items() if r.get("why")]
        if why:
            lines += ["", "Notes:", ""] + [f"- **{n}**: {w}" for n, w in why]
    lines += _failed("peers", parts)

    if "wire" in parts and "rows" in parts["wire"]:
        w = parts["wire"]
        lines += [
            "",
            "## Bytes on the wire for a 1 MiB answer",
            "",
            f"`kubectl {w['command']}` cut at the {w['cap']} byte output cap, one raw JSON-RPC "
            f"call; before: k8smcp at {w['base']}, after: this checkout.",
            "",
            "| door | before: bytes | after: bytes | after / before | stdout copies before / after |",
            "| --- | --- | --- | --- | --- |",
        ]
        before, after = w["rows"]["before"], w["rows"]["after"]
        for door in ("http_legacy", "http_modern", "stdio"):
            b, a = before[door], after[door]
            lines.append(
                f"| {door} | {b['wire_bytes']:,} | {a['wire_bytes']:,} | "
                f"{a['wire_bytes'] / b['wire_bytes']:.2f}x | {b['stdout_copies']} / {a['stdout_copies']} |"
            )
    lines += _failed("wire", parts)
    if "tokens" in parts and "rows" in parts["tokens"]:
        from bench.parts.tokens import markdown as tokens_markdown

        lines += tokens_markdown(parts["tokens"])
    lines += _failed("tokens", parts)

    if "profile" in parts and "loads" in parts["profile"]:
        lines += ["", "## Where the server's time goes"]
        for pr in parts["profile"]["loads"]:
            if "failed" in pr:
                lines += ["", f"**{pr['failed']}**"]
                continue
            lines += [
                "",
                f"### {pr['load']}",
                "",
                f"py-spy sampled the server process ({pr['rate']} Hz, {pr['seconds']} s; "
                f"{pr['calls_per_s']} calls/s, {pr['errors']} errors) and took {pr['samples']} samples "
                f"of threads on the CPU, {pr['cpu_share']:.0%} of one core's worth (over 100 %: more "
                "than one thread at once); shares below are of those samples. Inclusive: the function is on the stack; self: it is the innermost "
                f"frame. The raw stacks are in `{pr['stacks']}`.",
                "",
                "| share | where (first match in the sample's stack) |",
                "| --- | --- |",
            ]
            lines += [f"| {a['share']:.1%} | {a['area']} |" for a in pr.get("areas", [])]
            lines += [
                "",
                "k8smcp's functions:",
                "",
                "| inclusive | self | function | file:line |",
                "| --- | --- | --- | --- |",
            ]
            for row in pr["top"]:
                lines.append(
                    f"| {row['inclusive']:.1%} | {row['self']:.1%} | `{row['function']}` | {row['where']} |"
                )
            lines += [
                "",
                "Innermost frames (self time):",
                "",
                "| self | function | file:line |",
                "| --- | --- | --- |",
            ]
            for row in pr["top_self"]:
                lines.append(f"| {row['self']:.1%} | `{row['function']}` | {row['where']} |")
    lines += _failed("profile", parts)

    pc = parts.get("percall", {})
    if pc.get("rows"):
        lines += [
            "",
            f"## 8. `k8smcp run` and `k8smcp call` per call (`{pc['command']}`, cache on, {pc['calls']} shuffled rounds)",
            "",
            "| what | median ms | p95 ms | × raw kubectl | errors |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, row in pc["rows"].items():
            lines.append(
                f"| {name} | {_fmt(row['median_ms'])} | {_fmt(row['p95_ms'])} | {_fmt(row['ratio_median'], 2)} | {row['errors']}/{row['n']} |"
            )
        lines += [
            "",
            f"The server's own time for the command (`duration_ms` of `call --json`, median of 10): {_fmt(pc['call_server_ms'])} ms.",
        ]
        for key, label in (("call_imports", "call"), ("run_imports", "run")):
            if pc.get(key):
                lines += [
                    "",
                    f"Slowest imports of `k8smcp {label}` (`-X importtime`, cumulative):",
                    "",
                ]
                lines += [f"- `{m}` {us / 1000:.0f} ms" for m, us in pc[key]]
    lines += _failed("percall", parts)
    lines.append("")
    return "\n".join(lines)


def _failed(part: str, parts: dict[str, Any]) -> list[str]:
    if part in parts and "failed" in parts[part]:
        return ["", f"**Part {part} failed:** {parts[part]['failed']}"]
    return []


def plots(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts = results["parts"]
    lat = parts.get("latency", {}).get("commands")
    if lat:
        fig, axes = plt.subplots(1, len(lat), figsize=(6 * len(lat), 4.5), squeeze=False)
        for ax, (command, summary) in zip(axes[0], lat.items(), strict=False):
            names = list(summary)
            med = [summary[n]["median_ms"] for n in names]
            p95 = [summary[n]["p95_ms"] for n in names]
            colors = [
                "#555555" if n.startswith(BASE) else "#1f77b4" if "[cache off]" in n else "#2ca02c"
                for n in names
            ]
            y = range(len(names))
            ax.barh(y, med, color=colors)
            ax.errorbar(p95, y, fmt="|", color="black", markersize=8, label="p95")
            ax.set_yticks(list(y), [n.replace(" [cache", "\n[cache") for n in names], fontsize=7)
            ax.invert_yaxis()
            ax.set_xlabel("ms (bar: median, tick: p95)")
            ax.set_title(f"kubectl {command}", fontsize=10)
        fig.suptitle(
            "Per-call latency by entry point (grey: raw kubectl; blue: cache off; green: on)",
            fontsize=10,
        )
        fig.tight_layout()
        fig.savefig(out / "latency.png", dpi=80)
        plt.close(fig)
    tp = parts.get("throughput", {}).get("rows")
    peers = parts.get("peers", {}).get("peers", {})
    panels: list[tuple[str, dict[str, list[tuple[int, float]]]]] = []
    if tp:
        series: dict[str, list[tuple[int, float]]] = {}
        for row in tp:
            label = row["target"] + (
                f" (max-conc {row['max_concurrency']})" if row.get("max_concurrency") else ""
            )
            series.setdefault(label, []).append((row["concurrency"], row["calls_per_s"]))
        panels.append((f"kubectl {parts['throughput']['command']}: k8smcp and raw kubectl", series))
    if any(r.get("throughput") for r in peers.values()):
        series = {}
        for name, row in peers.items():
            for t in row.get("throughput") or []:
                series.setdefault(name.replace(" (for scale)", ""), []).append(
                    (t["concurrency"], t["calls_per_s"])
                )
        panels.append((f"{parts['peers']['command']}: k8smcp and its peers", series))
    if panels:
        fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
        for ax, (title, series) in zip(axes[0], panels, strict=False):
            for label, points in series.items():
                points.sort()
                style = (
                    "k-o"
                    if label == BASE
                    else "-o"
                    if label.startswith(("REST", "MCP", "k8smcp"))
                    else "--s"
                )
                ax.plot(
                    [p[0] for p in points], [p[1] for p in points], style, label=label, markersize=4
                )
            ax.set_xscale("log", base=2)
            levels = sorted({p[0] for points in series.values() for p in points})
            ax.set_xticks(levels, [str(c) for c in levels])
            ax.set_xlabel("concurrent clients")
            ax.set_ylabel("calls per second")
            ax.set_title(title, fontsize=9)
            ax.legend(fontsize=6)
            ax.grid(alpha=0.3)
        fig.suptitle(
            "Throughput against concurrency (2-core machine: kubectl's own CPU is the ceiling)",
            fontsize=10,
        )
        fig.tight_layout()
        fig.savefig(out / "throughput.png", dpi=80)
        plt.close(fig)


def write(results: dict[str, Any], out: Path) -> None:
    (out / "report.md").write_text(markdown(results))
    try:
        plots(results, out)
    except ImportError as exc:
        print(f"no plots: {exc} (pip install -r bench/requirements.txt)")


def print_table(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    lat = results["parts"].get("latency", {}).get("commands", {})
    for command, summary in lat.items():
        table = Table(title=f"latency: kubectl {command}")
        for col in ("entry point", "median ms", "p95 ms", "× raw", "errors"):
            table.add_column(col)
        for name, row in summary.items():
            table.add_row(
                escape(name),
                _fmt(row["median_ms"]),
                _fmt(row["p95_ms"]),
                _fmt(row["ratio_median"], 2),
                f"{row['errors']}/{row['n']}",
            )
        console.print(table)
    tp = results["parts"].get("throughput", {}).get("rows", [])
    if tp:
        table = Table(title="throughput")
        for col in ("target", "clients", "calls/s", "× raw", "p50 ms", "p95 ms", "errors"):
            table.add_column(col)
        for row in tp:
            table.add_row(
                escape(_tp_target(row)),
                str(row["concurrency"]),
                _fmt(row["calls_per_s"], 1),
                _fmt(row.get("ratio"), 2),
                _fmt(row["median_ms"]),
                _fmt(row["p95_ms"]),
                str(row["errors"]),
            )
        console.print(table)
    table = Table(title="targets")
    for col in ("target", "cache", "measured", "verdict"):
        table.add_column(col)
    for row in targets(results):
        style = "green" if row["verdict"] == "PASS" else "red" if row["verdict"] == "FAIL" else ""
        table.add_row(
            escape(row["target"]),
            row["cache"],
            escape(row["measured"]),
            row["verdict"],
            style=style,
        )
    console.print(table)
