"""The summary evaluation's manifest, its per-set figures and its report (JSON and Markdown),
written beside the WER report in docs/accuracy."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from workers.evaluation.summary_scoring import SummaryScore, aggregate

SYNTHETIC_NOTE = (
    "The conversations are hand-written and synthetic (no audio, no real people or cases); some are written "
    "with recognition errors typical of the offline Whisper model. Figures measure the summariser on this "
    "set, not on real case recordings."
)


class SummaryManifestError(ValueError):
    """A summary evaluation manifest that cannot be used."""


@dataclass(frozen=True)
class SummaryEvalEntry:
    id: str
    path: Path  # the transcript JSON
    case_type: str
    recognition: str
    duration_s: float
    synthetic: bool
    reference: dict


def load_summary_manifest(path: Path) -> list[SummaryEvalEntry]:
    entries = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise SummaryManifestError(f"{path}: {e}") from e
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            reference = data["reference"]
            for key in ("matter", "roles", "decisions", "action_items", "traps"):
                reference[key]  # noqa: B018 (presence check)
            entries.append(
                SummaryEvalEntry(
                    id=data["id"],
                    path=path.parent / data["file"],
                    case_type=data.get("case_type", "unknown"),
                    recognition=data.get("recognition", "unknown"),
                    duration_s=float(data["duration_s"]),
                    synthetic=bool(data.get("synthetic", False)),
                    reference=reference,
                )
            )
        except (ValueError, KeyError, TypeError) as e:
            raise SummaryManifestError(f"{path}:{number}: not a summary evaluation entry ({type(e).__name__}: {e})") from e
    if not entries:
        raise SummaryManifestError(f"{path}: no entries")
    return entries


@dataclass(frozen=True)
class EntryOutcome:
    entry: SummaryEvalEntry
    score: SummaryScore
    seconds: float
    summary: dict | None
    error: str | None


def summarize_outcomes(outcomes: list[EntryOutcome], run: dict) -> dict:
    """The report's data: the run's description, figures overall and per case type and recognition condition."""

    def figures(selected: list[EntryOutcome]) -> dict:
        result = aggregate([o.score for o in selected], failures=sum(o.error is not None for o in selected))
        minutes = sum(o.entry.duration_s for o in selected) / 60
        result["transcript_minutes"] = round(minutes, 2)
        result["seconds_per_transcript_minute"] = round(sum(o.seconds for o in selected) / minutes, 2) if minutes else None
        return result

    by_type: dict[str, list[EntryOutcome]] = defaultdict(list)
    by_recognition: dict[str, list[EntryOutcome]] = defaultdict(list)
    for o in outcomes:
        by_type[o.entry.case_type].append(o)
        by_recognition[o.entry.recognition].append(o)
    return {
        "run": run,
        "note": SYNTHETIC_NOTE,
        "overall": figures(outcomes),
        "by_case_type": {k: figures(v) for k, v in sorted(by_type.items())},
        "by_recognition": {k: figures(v) for k, v in sorted(by_recognition.items())},
        "entries": [
            {
                "id": o.entry.id,
                "case_type": o.entry.case_type,
                "recognition": o.entry.recognition,
                "minutes": round(o.entry.duration_s / 60, 2),
                "seconds": round(o.seconds, 1),
                "error": o.error,
                "score": o.score.as_dict(),
                "summary": o.summary,
            }
            for o in outcomes
        ],
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def _row(name: str, f: dict) -> str:
    r = f["recall"]
    return (
        f"| {name} | {f['summaries']} | {f['failed']} | {_pct(f['fact_recall'])} | {_pct(r['matter'])} | {_pct(r['roles'])} | "
        f"{_pct(r['decisions'])} | {_pct(r['action_items'])} | {_pct(r['owners'])} | {_pct(r['deadlines'])} | "
        f"{f['traps_fallen']}/{f['traps']} | {f['unsupported_items']}/{f['items']} | {f['template_echoes']} | "
        f"{f['missing_citations']}/{f['citations']} | {f['invented_numbers']} | {_pct(f['swedish'])} | "
        f"{f['seconds_per_transcript_minute']} |"
    )


HEADER = (
    "| | summaries | failed | fact recall | matter | roles | decisions | action items | owners | deadlines | traps fallen | "
    "unsupported items | template echoes | missing citations | invented numbers | Swedish | s per transcript-minute |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def to_markdown(report: dict) -> str:
    run = report["run"]
    lines = [
        f"# Summary evaluation: {run['model']}",
        "",
        f"Model `{run['model']}` at `{run['endpoint']}`, prompt `{run['prompt']}`, {run['quality_retries']} "
        f"re-ask(s) after a rejected answer, context {run['context_tokens']} tokens; {run['date']} on {run['cpu']}. "
        f"Manifest `{run['manifest']}`{', subset: ' + ', '.join(run['only']) if run.get('only') else ''}.",
        "",
        *(["**Partial: the run had not finished when this was written.**", ""] if run.get("partial") else []),
        report["note"],
        "",
        "Fact recall: reference facts found (matter, participant roles, decisions, action items, their owners and "
        "deadlines) out of all of them; a failed summary finds none. Traps: a hypothetical, a retracted statement or "
        "the wrong one of two numbers presented as fact. Unsupported: decisions and action items sharing no content "
        "word with the segments they cite. Template echoes: values that are field names or copied from the "
        "instructions. Invented numbers: numbers in the summary that the transcript never says.",
        "",
        "## Overall",
        "",
        HEADER,
        _row("all", report["overall"]),
        "",
        "## By case type",
        "",
        HEADER,
        *(_row(k, v) for k, v in report["by_case_type"].items()),
        "",
        "## By recognition condition",
        "",
        HEADER,
        *(_row(k, v) for k, v in report["by_recognition"].items()),
        "",
        "## Per conversation",
        "",
        "| conversation | minutes | seconds | matter found | facts missed | traps fallen | template echoes | error |",
        "|---|---:|---:|---|---|---|---|---|",
    ]
    for e in report["entries"]:
        s = e["score"]
        missed = []
        for field, hit, total in (
            ("roles", "roles_hit", "roles_total"),
            ("decisions", "decisions_hit", "decisions_total"),
            ("actions", "actions_hit", "actions_total"),
            ("owners", "owners_hit", "owners_total"),
            ("deadlines", "deadlines_hit", "deadlines_total"),
        ):
            if s[total] - s[hit]:
                missed.append(f"{field} {s[total] - s[hit]}/{s[total]}")
        lines.append(
            f"| {e['id']} | {e['minutes']} | {e['seconds']} | {'yes' if s['matter_hit'] else 'no'} | {', '.join(missed) or '–'} | "
            f"{'; '.join(s['traps_fallen']) or '–'} | {'; '.join(_short(v) for v in s['echoed_values']) or '–'} | "
            f"{_short(e['error'] or '') or '–'} |"
        )
    return "\n".join(lines) + "\n"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_summary_reports(report: dict, out_dir: Path, name: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    md_path.write_text(to_markdown(report), encoding="utf-8")
    return [json_path, md_path]
