"""Targets, the stdout table and the connections plot, all from the results dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PEER_ORDER = ["ours", "bare", "native", "raw"]


def _ratio(figure: dict[str, Any], key: str = "median", over: str = "bare") -> float:
    return figure["peers"]["ours"][key] / figure["peers"][over][key]


def targets(figures: dict[str, Any], quick: bool = False) -> list[dict[str, Any]]:
    """Each target: what was measured, the limit, and whether this run met it.

    Every figure ``ours`` shares with ``bare`` must be at or ahead of it: throughput
    ratios >= 1, latency and memory ratios <= 1.
    """
    rows: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: str, met: bool | None, note: str = "") -> None:
        rows.append({"target": name, "value": value, "limit": limit, "met": met, "note": note})

    if "short_streams" in figures:
        ratio = _ratio(figures["short_streams"])
        add("short streams/s ours/bare", ratio, ">= 1.00", ratio >= 1.0)
    if "events" in figures:
        ratio = _ratio(figures["events"])
        add("events/s ours/bare", ratio, ">= 1.00", ratio >= 1.0)
    if "first_event" in figures:
        for key in ("median", "p90"):
            ratio = _ratio(figures["first_event"], key)
            add(f"first event ours/bare ({key})", ratio, "<= 1.00", ratio <= 1.0)
    if "connections" in figures:
        held = figures["connections"]["peers"]
        for index, count in enumerate(figures["connections"]["levels"]):
            ratio = held["ours"][index]["kib_per_connection"] / held["bare"][index]["kib_per_connection"]
            full_size = count >= 100
            add(
                f"memory/connection ours/bare at {count:,}", ratio, "<= 1.00", ratio <= 1.0 if full_size else None,
                "" if full_size else "quick size: the targets are at 100, 1,000 and 5,000",
            )
        top = {peer: levels[-1] for peer, levels in held.items()}
        ours = top["ours"]
        full_size = ours["connections"] >= 5000
        ratio = ours["latency_ms_median"] / top["bare"]["latency_ms_median"]
        add(
            f"new stream's first event ours/bare, {ours['connections']:,} held", ratio, "<= 1.00",
            ratio <= 1.0 if full_size else None, "" if full_size else "quick size: the target needs 5,000",
        )
        everyone = ours["served"] == ours["connections"] and ours["opened"] == ours["connections"]
        add(
            f"{ours['connections']:,} held streams, all served (ours)", float(ours["served"]),
            f"= {ours['connections']:,}", everyone if full_size else None,
            "" if full_size else "quick size: the target needs 5,000",
        )
    if "lifecycle" in figures:
        stop = figures["lifecycle"]["stop_max_s"]["200"]
        add("stop with 200 open streams (s, worst)", stop, "< 3 s", stop < 3.0)
    if "notebooks" in figures:
        notebooks = figures["notebooks"]
        complete = notebooks["count"] == notebooks["found"] and notebooks["failed"] == 0
        add(
            f"notebook series ({notebooks['count']} of {notebooks['found']}) total s", notebooks["total_s"], "< 60 s",
            (notebooks["total_s"] < 60 and complete) if notebooks["found"] and quick is False else None,
            f"{notebooks['failed']} failed" if notebooks["failed"] else ("quick size: a subset" if quick else ""),
        )
    if "grading" in figures:
        grading = figures["grading"]
        if grading["available"]:
            met = grading["exit_code"] == 0 and grading["per_minute"] >= 30
            note = "" if grading["exit_code"] == 0 else f"exit {grading['exit_code']}"
            if grading["submissions"] < 30:
                met, note = None, note or "quick size: the target needs 30"
            add(f"grading ({grading['submissions']} submissions)/min", grading["per_minute"], ">= 30", met, note)
        else:
            add("grading submissions/min", None, ">= 30", None, "not available: " + grading["reason"])
    if "hub" in figures:
        shared, limit = figures["hub"]["redis_2_workers"], figures["hub"]["target_p95_ms"]
        monitors = figures["hub"]["sizes"]["monitors"]
        full = monitors >= 1000
        add(
            f"hub: PATCH-to-event p95 ms, {monitors:,} monitors on 2 workers + Redis", shared["p95_ms"],
            f"< {limit:.0f} ms", shared["p95_ms"] < limit if full else None, "" if full else "quick size",
        )
        add("hub: events lost + duplicated (Redis, 2 workers)", float(shared["lost"] + shared["duplicated"]), "= 0",
            shared["lost"] + shared["duplicated"] == 0)
    return rows


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def table(results: dict[str, Any]) -> str:
    """The figures and targets as a Markdown table (readable on stdout, pasteable in the README)."""
    figures = results["figures"]
    lines = ["| figure | ours | bare | native | raw | ours/bare | ours/raw |", "|---|---:|---:|---:|---:|---:|---:|"]

    def ratios(values: list[float | None]) -> str:
        """ours/bare, and ours/raw: raw is the floor, so this is the distance to the limit."""
        over_bare = values[0] / values[1] if values[0] is not None and values[1] else None
        over_raw = values[0] / values[3] if values[0] is not None and values[3] else None
        return f" | {_number(over_bare, 2)} | {_number(over_raw, 2)} |"

    def peer_row(label: str, figure: dict[str, Any], key: str = "median", digits: int = 1) -> None:
        values = [figure["peers"][peer][key] if peer in figure["peers"] else None for peer in PEER_ORDER]
        lines.append(f"| {label} | " + " | ".join(_number(v, digits) for v in values) + ratios(values))

    if "short_streams" in figures:
        peer_row("1. whole short streams/s (16 clients, scale 0)", figures["short_streams"], digits=0)
    if "events" in figures:
        peer_row(f"2. events/s, one {figures['events']['events_per_stream']}-event stream", figures["events"], digits=0)
    if "first_event" in figures:
        peer_row("3. first event, median ms (scale 1)", figures["first_event"], digits=2)
        peer_row("3. first event, p90 ms", figures["first_event"], key="p90", digits=2)
    if "connections" in figures:
        held = figures["connections"]["peers"]
        for index, count in enumerate(figures["connections"]["levels"]):
            row = {peer: levels[index] for peer, levels in held.items()}
            kib = [row[p]["kib_per_connection"] if p in row else None for p in PEER_ORDER]
            lat = [row[p]["latency_ms_median"] if p in row else None for p in PEER_ORDER]
            served = [f"{row[p]['served']:,}/{count:,}" if p in row else "-" for p in PEER_ORDER]
            lines.append(f"| 4. {count:,} held: KiB/connection | " + " | ".join(_number(v) for v in kib) + ratios(kib))
            lines.append(f"| 4. {count:,} held: new stream's first event, ms | "
                         + " | ".join(_number(v, 2) for v in lat) + ratios(lat))
            lines.append(f"| 4. {count:,} held: clients with heartbeats | " + " | ".join(served) + " | | |")
    if "lifecycle" in figures:
        life = figures["lifecycle"]
        lines.append(f"| 5. BackgroundServer cold / warm start, ms | {life['cold_start_s'] * 1000:.1f} / "
                     f"{life['warm_start_s'] * 1000:.1f} | | | | | |")
        for count, seconds in life["stop_s"].items():
            lines.append(f"| 5. stop with {count} open streams, s (median) | {seconds:.3f} | | | | | |")
    if "notebooks" in figures:
        notebooks = figures["notebooks"]
        lines.append(f"| 6. notebook series at scale 0: {notebooks['count']} notebooks, total s | "
                     f"{notebooks['total_s']:.1f} | | | | | |")
        for name, result in notebooks["per_notebook"].items():
            status = " (failed)" if result["error"] else ""
            lines.append(f"| 6. `{name}`{status}, s | {result['seconds']:.1f} | | | | | |")
    if "grading" in figures:
        grading = figures["grading"]
        value = _number(grading["per_minute"]) if grading["available"] else "not available"
        lines.append(f"| 7. grading, submissions/min | {value} | | | | | |")

    if "hub" in figures:
        hub = figures["hub"]
        setups = (("redis_2_workers", "Redis Streams, 2 workers"), ("in_process_1_worker", "in-process, 1 worker"))
        for key, label in setups:
            row = hub[key]
            lines.append(
                f"| 8. hub, {label}: PATCH-to-event p50 / p95 ms, lost / duplicated "
                f"({hub['sizes']['monitors']:,} monitors, {hub['sizes']['patches']:,} PATCHes) | "
                f"{row['p50_ms']:.1f} / {row['p95_ms']:.1f}, {row['lost']} / {row['duplicated']} | | | | | |"
            )

    lines += ["", "| target | this run | limit | met |", "|---|---:|---:|:---:|"]
    for row in results["targets"]:
        met = {True: "met", False: "**missed**", None: "n/a"}[row["met"]]
        note = f" ({row['note']})" if row["note"] else ""
        lines.append(f"| {row['target']}{note} | {_number(row['value'], 2)} | {row['limit']} | {met} |")
    return "\n".join(lines)


def plot_connections(connections: dict[str, Any], path: Path) -> None:
    """Latency of a new stream and memory per held stream, against the number held."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency_axes, memory_axes) = plt.subplots(1, 2, figsize=(10, 4))
    for peer, levels in connections["peers"].items():
        counts = [level["connections"] for level in levels]
        latency_axes.plot(counts, [level["latency_ms_median"] for level in levels], marker="o", label=peer)
        memory_axes.plot(counts, [level["kib_per_connection"] for level in levels], marker="o", label=peer)
    for axes, title, unit in (
        (latency_axes, "New stream's first event while N are held", "ms (median)"),
        (memory_axes, "Server memory per held stream", "KiB of RSS per connection"),
    ):
        axes.set_xscale("log")
        axes.set_xlabel("idle streams held by one process")
        axes.set_ylabel(unit)
        axes.set_title(title, fontsize=10)
        axes.grid(True, alpha=0.3)
        axes.legend()
    axes.set_ylim(bottom=0)
    latency_axes.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
