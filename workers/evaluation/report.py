"""Write an evaluation summary as JSON, Markdown and a PNG bar chart.

Every breakdown (dialect area, condition, worst recordings) is shown inside its group, and each
group says whether it is real or synthetic speech: the report never merges the two.
"""

from __future__ import annotations

import json
from pathlib import Path

from workers.evaluation.results import is_labelled

SYNTHETIC_NOTE = (
    "Synthetic fixtures are espeak-ng speech: they carry each dialect area's vocabulary and place "
    "names, not its sound. Their figures are not dialect recognition rates."
)
POOLED_LABEL = "every group together, real and synthetic speech alike: not an accuracy figure"
SPEECH_LABELS = {"synthetic": "synthetic speech", "real": "real speech", "mixed": "real and synthetic speech mixed"}


def write_reports(summary: dict, out_dir: Path, name: str = "eval") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = (out_dir / f"{name}.{ext}" for ext in ("json", "md", "png"))
    json_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(to_markdown(summary, png_path.name), encoding="utf-8")
    write_chart(summary, png_path)
    return [json_path, md_path, png_path]


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def group_title(name: str, group: dict) -> str:
    return f"{name} ({SPEECH_LABELS[group['speech']]})"


def _table(title: str, rows: dict[str, dict]) -> list[str]:
    lines = [title, "", "| | recordings | WER | CER | reference words | words on non-speech |", "|---|---:|---:|---:|---:|---:|"]
    for name, s in rows.items():
        lines.append(
            f"| {name} | {s['recordings']} | {_pct(s.get('wer'))} | {_pct(s.get('cer'))} | "
            f"{s.get('reference_words', 0)} | {s.get('words_on_non_speech', '–')} |"
        )
    return lines + [""]


def _breakdown(title: str, rows: dict[str, dict], what: str) -> list[str]:
    if not is_labelled(rows):
        return [f"No {what} labels in this group's manifest.", ""]
    return _table(title, rows)


def _group_section(name: str, group: dict) -> list[str]:
    lines = [f"## {group_title(name, group)}", ""]
    if group["speech"] != "real":
        lines += [SYNTHETIC_NOTE, ""]
    area_title = "### By dialect area" + (" (vocabulary and place names, not dialect sound)" if group["speech"] != "real" else "")
    lines += _breakdown(area_title, group["by_dialect_area"], "dialect_area")
    lines += _breakdown("### By recording condition", group["by_condition"], "condition")
    lines += ["### Worst recordings", ""]
    for w in group["worst"]:
        lines += [
            f"**{w['id']}** ({w['dialect_area']}, {w['condition']}): WER {_pct(w['wer'])}",
            "",
            "```",
            w["alignment"],
            "```",
            "",
        ]
    return lines


def to_markdown(summary: dict, chart_name: str) -> str:
    model, pooled, groups = summary["model"], summary["all_groups"], summary["by_group"]
    lines = [
        f"# Accuracy: {model['id']}",
        "",
        f"Model `{model['id']}` (revision `{model.get('revision')}`, {model.get('device')}/{model.get('compute_type')}); "
        f"options `{json.dumps(summary['options'], ensure_ascii=False)}`.",
        "",
        "Each group (one manifest) is reported on its own, with its dialect areas and recording "
        "conditions inside it: real and synthetic speech are never merged.",
        "",
        f"![WER per group, and per dialect area and condition within each group]({chart_name})",
        "",
    ]
    lines += _table("## By group", {group_title(n, g): g["overall"] for n, g in groups.items()})
    if len(groups) > 1:
        lines += [
            f"All groups pooled ({POOLED_LABEL}), {pooled['speech_recordings']} speech recordings: "
            f"WER {_pct(pooled.get('wer'))}, CER {_pct(pooled.get('cer'))}; the number `swescribe eval` prints last.",
            "",
        ]
    for name, group in groups.items():
        lines += _group_section(name, group)
    return "\n".join(lines)


def _bars(ax, title: str, rows: dict[str, dict], label_rotation: int = 40) -> None:
    names = [n for n, s in rows.items() if s.get("wer") is not None]
    if not names or not is_labelled(rows):
        ax.set_axis_off()
        ax.set_title(title, fontsize=9)
        ax.text(0.5, 0.5, "no labels in this group", ha="center", va="center", transform=ax.transAxes, fontsize=9)
        return
    bars = ax.bar(names, [100 * rows[n]["wer"] for n in names], color="#3b6ea5")
    ax.bar_label(bars, fmt="%.0f", fontsize=7)  # a 0 % bar is otherwise invisible
    ax.set_title(title, fontsize=9)
    ax.set_ylabel("WER %")
    ax.tick_params(axis="x", rotation=label_rotation, labelsize=8)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right" if label_rotation else "center")


def write_chart(summary: dict, path: Path) -> None:
    """Top row: WER per group; then one row per group: its dialect areas and its conditions."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    groups = summary["by_group"]
    fig = plt.figure(figsize=(13, 3.6 * (1 + len(groups))))
    grid = fig.add_gridspec(1 + len(groups), 2)
    _bars(
        fig.add_subplot(grid[0, :]),
        "WER by group",
        {group_title(n, g): g["overall"] for n, g in groups.items()},
        label_rotation=0,
    )
    for row, (name, group) in enumerate(groups.items(), start=1):
        area = "dialect-area vocabulary" if group["speech"] != "real" else "dialect area"
        _bars(fig.add_subplot(grid[row, 0]), f"{group_title(name, group)}: WER by {area}", group["by_dialect_area"])
        _bars(fig.add_subplot(grid[row, 1]), f"{group_title(name, group)}: WER by condition", group["by_condition"])
    fig.suptitle(f"{summary['model']['id']}: word error rate", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
