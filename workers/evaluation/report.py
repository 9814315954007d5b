"""Write an evaluation summary as JSON, Markdown and a PNG bar chart."""

from __future__ import annotations

import json
from pathlib import Path

SYNTHETIC_NOTE = (
    "Synthetic fixtures are espeak-ng speech: they carry each dialect area's vocabulary and place "
    "names, not its sound. Their figures are not dialect recognition rates."
)


def write_reports(summary: dict, out_dir: Path, name: str = "eval") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = (out_dir / f"{name}.{ext}" for ext in ("json", "md", "png"))
    json_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(to_markdown(summary, png_path.name), encoding="utf-8")
    write_chart(summary, png_path)
    return [json_path, md_path, png_path]


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _table(title: str, groups: dict[str, dict]) -> list[str]:
    lines = [f"### {title}", "", "| | recordings | WER | CER | reference words | words on non-speech |", "|---|---:|---:|---:|---:|---:|"]
    for name, s in groups.items():
        lines.append(
            f"| {name} | {s['recordings']} | {_pct(s.get('wer'))} | {_pct(s.get('cer'))} | "
            f"{s.get('reference_words', 0)} | {s.get('words_on_non_speech', '–')} |"
        )
    return lines + [""]


def to_markdown(summary: dict, chart_name: str) -> str:
    model, overall = summary["model"], summary["overall"]
    lines = [
        f"# Accuracy: {model['id']}",
        "",
        f"Model `{model['id']}` (revision `{model.get('revision')}`, {model.get('device')}/{model.get('compute_type')}); "
        f"options `{json.dumps(summary['options'], ensure_ascii=False)}`.",
        "",
        f"Overall over {overall['speech_recordings']} speech recordings: WER {_pct(overall.get('wer'))}, "
        f"CER {_pct(overall.get('cer'))}. Groups are reported separately below; real and synthetic "
        "speech should be read apart.",
        "",
        SYNTHETIC_NOTE,
        "",
        f"![WER by dialect area and condition]({chart_name})",
        "",
    ]
    lines += _table("By group", summary["by_group"])
    lines += _table("By dialect area (vocabulary and place names; see the note above)", summary["by_dialect_area"])
    lines += _table("By recording condition", summary["by_condition"])
    lines += ["### Worst recordings", ""]
    for w in summary["worst"]:
        lines += [f"**{w['id']}** ({w['group']}, {w['dialect_area']}, {w['condition']}): WER {_pct(w['wer'])}", "", "```", w["alignment"], "```", ""]
    return "\n".join(lines)


def write_chart(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    panels = [("by dialect area", summary["by_dialect_area"]), ("by condition", summary["by_condition"]), ("by group", summary["by_group"])]
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 4.5))
    for ax, (title, groups) in zip(axes, panels):
        names = [n for n, s in groups.items() if s.get("wer") is not None]
        ax.bar(names, [100 * groups[n]["wer"] for n in names], color="#3b6ea5")
        ax.set_title(f"WER {title}")
        ax.set_ylabel("WER %")
        ax.tick_params(axis="x", rotation=40, labelsize=8)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    fig.suptitle(f"{summary['model']['id']}: word error rate", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
