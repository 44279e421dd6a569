"""The benchmark report: report.json, summary.md and latency.png."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from faceapi.evaluation.bench.images import BenchImage
from faceapi.evaluation.bench.load import Budget
from faceapi.evaluation.metrics import Metrics
from faceapi.evaluation.plots import latency_plot


def build_report(
    *,
    command: str,
    machine: Metrics,
    server: Metrics,
    images: Sequence[BenchImage],
    endpoints: Sequence[str],
    budget: Budget,
    levels: list[Metrics],
    profile: Metrics,
) -> Metrics:
    return {
        "command": command,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "server": server,
        "images": [
            {
                "kind": image.kind,
                "width": image.width,
                "height": image.height,
                "bytes": len(image.data),
                "source": image.source,
            }
            for image in images
        ],
        "endpoints": list(endpoints),
        "budget": {"seconds": budget.seconds, "requests": budget.requests},
        "levels": levels,
        "stage_profile": profile,
    }


def write_outputs(out: Path, report: Metrics) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "summary.md").write_text(render(report))
    plot = latency_plot(out / "latency.png", report["levels"])
    return [out / "report.json", out / "summary.md", plot]


def render(report: Metrics) -> str:
    parts = [_header(report), _images(report["images"]), _load(report["levels"])]
    parts += [_profile(report["stage_profile"]), "![latency and throughput](latency.png)"]
    return "\n\n".join(parts) + "\n"


def _header(report: Metrics) -> str:
    machine, server, budget = report["machine"], report["server"], report["budget"]
    per_level = (
        f"{budget['requests']} requests" if budget["requests"] else f"{budget['seconds']:g} s"
    )
    where = "started by the bench" if server["started_here"] else "already running"
    idle = f", {server['idle_rss_mb']:.0f} MB resident when idle" if server["idle_rss_mb"] else ""
    return "\n".join(
        [
            "# Benchmark",
            "",
            f"- Command: `{report['command']}`",
            f"- Created {report['created']} on {machine['cpus']} CPU cores, {machine['platform']}",
            f"- Load average (1, 5, 15 min) before: {_loads(machine['load_before'])}; "
            f"after: {_loads(machine['load_after'])}",
            f"- Server: {server['url']}, {where}{idle}",
            f"- Each level: {per_level}; image requests rotate through "
            f"{', '.join(report['endpoints'])}; latency and req/s count successful requests",
        ]
    )


def _images(images: Sequence[Metrics]) -> str:
    lines = ["| image | size | bytes | source |", "|---|---|---:|---|"]
    for image in images:
        size = f"{image['width']}x{image['height']}"
        lines.append(f"| {image['kind']} | {size} | {image['bytes']:,} | {image['source']} |")
    return "\n".join(lines)


def _load(levels: Sequence[Metrics]) -> str:
    lines = [
        "## Over HTTP",
        "",
        "| target | clients | req/s | p50 ms | p95 ms | p99 ms | requests | errors "
        "| server CPU % | server peak MB | client CPU % |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for level in levels:
        latency = level["latency_ms"]
        errors = ", ".join(f"{code} {n}" for code, n in level["errors"].items()) or "0"
        cells = [
            level["target"],
            str(level["concurrency"]),
            f"{level['requests_per_second']:.1f}",
            *(_number(latency[q]) for q in ("p50", "p95", "p99")),
            f"{level['requests']:,}",
            errors,
            _number(level["server_cpu_percent"], 0),
            _number(level["server_peak_rss_mb"], 0),
            _number(level["client_cpu_percent"], 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _profile(profile: Metrics) -> str:
    """One column per stage any image went through (models are named by manifest id)."""
    stages = list(dict.fromkeys(s for entry in profile.values() for s in entry["stages"]))
    lines = [
        "## Stage profile (in process, one request, median ms; p95 in brackets)",
        "",
        "| image | faces | " + " | ".join(stages) + " | slowest |",
        "|---|---:|" + "---:|" * len(stages) + "---|",
    ]
    for kind, entry in profile.items():
        timings = entry["stages"]
        cells = [
            f"{timings[s]['median_ms']:.1f} ({timings[s]['p95_ms']:.1f})" if s in timings else ""
            for s in stages
        ]
        row = [kind, str(entry["faces_found"]), *cells, f"**{entry['slowest']}**"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _loads(loads: Sequence[float]) -> str:
    return ", ".join(f"{load:.2f}" for load in loads)
