"""Summary benchmark: the embedded model (llama.cpp server, Qwen2.5-Coder 1.5B Instruct GGUF)
on this machine's CPU.

Measures, with the server started the way `swescribe up` starts it (python -m llama_cpp.server
on 127.0.0.1, all cores, context --context-tokens):

- Generation speed: one request with a short prompt, answer of up to 256 tokens; completion
  tokens / wall seconds.
- Prompt speed: one request with about 3000 tokens of transcript and a 1-token answer;
  prompt tokens / wall seconds.
- Whole summaries of generated Swedish case conversations of --minutes each (default 10 and
  60): wall seconds, requests (map + reduce), chunks, tokens, and seconds per transcript-hour
  = wall seconds / (transcript duration in hours).

Token counts are the server's own (`usage`). Run from the repository root with the venv:

    nice -n 10 .venv/bin/python bench/summary/run.py
    .venv/bin/python bench/summary/run.py --minutes 2 --results /tmp/s.json --docs /tmp/s.md   # smoke run

Results go to --results (JSON, default bench/results/summary.json, git-ignored) and to the
"## Summaries (bench/summary)" section of docs/benchmarks.md (--docs); other sections stay.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "bench" / "asr")]

import report  # noqa: E402  (bench/asr: machine description, Markdown section replacement)

from workers.settings import Settings  # noqa: E402
from workers.summary.client import LlmEndpoint, RetryPolicy, chat  # noqa: E402
from workers.summary.configured import endpoint_from_settings, with_embedded  # noqa: E402
from workers.summary.embedded_model import EMBEDDED_MODEL_NAME  # noqa: E402
from workers.summary.embedded_server import start_embedded_server, wait_ready  # noqa: E402
from workers.summary.schema import answer_json_schema  # noqa: E402
from workers.summary.summarize import SummaryOptions, summarize_transcript  # noqa: E402
from workers.transcript.types import ModelInfo, Segment, Transcript  # noqa: E402

SECTION_HEADING = "## Summaries (bench/summary)"
SECONDS_PER_LINE = 8.0

_OPENINGS = [
    ("Talare 1", "Hej, det här är {name} på {agency}. Jag ringer om din ansökan om {benefit}."),
    ("Talare 2", "Hej {name}, ja, jag skickade in den för {weeks} veckor sedan och har väntat på besked."),
]
_TURNS = [
    ("Talare 1", "Vi har gått igenom underlagen och det saknas fortfarande {document}."),
    ("Talare 2", "Jag trodde att jag hade skickat {document} redan, men jag kan skicka det igen."),
    ("Talare 1", "Vi har beslutat att bevilja {benefit} från och med {month}."),
    ("Talare 1", "Du behöver skicka in {document} senast den {day} {month}."),
    ("Talare 2", "Det gör jag. Jag skickar det på {weekday}."),
    ("Talare 2", "Vet du om beslutet påverkas om {relative} flyttar hemifrån?"),
    ("Talare 1", "Det kan jag inte svara på i dag, det behöver jag kontrollera med en kollega."),
    ("Talare 3", "Jag är {relative}s kontaktperson på kommunen och vill bara lägga till att {document} är på väg."),
    ("Talare 1", "Tack, då noterar jag det i ärendet och återkommer när vi har fått {document}."),
    ("Talare 2", "Hur lång tid tar det innan pengarna betalas ut efter beslutet?"),
    ("Talare 1", "Normalt tar det ungefär {weeks} veckor, men det beror på när {document} kommer in."),
    ("Talare 3", "Kan vi boka ett uppföljande möte i {month} för att gå igenom läget?"),
]
_FILL = {
    "name": ["Anna Berg", "Erik Lund", "Sara Holm", "Johan Ek"],
    "agency": ["Försäkringskassan", "kommunen", "Migrationsverket"],
    "benefit": ["bostadsbidrag", "sjukpenning", "försörjningsstöd", "assistansersättning"],
    "weeks": ["två", "tre", "fyra", "sex"],
    "document": ["hyresavtalet", "läkarintyget", "lönespecifikationen", "kontoutdraget"],
    "month": ["mars", "april", "maj", "juni"],
    "day": ["femte", "femtonde", "tjugonde"],
    "weekday": ["måndag", "onsdag", "fredag"],
    "relative": ["dottern", "sonen", "partnern"],
}


def conversation(minutes: float, seed: int = 1) -> Transcript:
    """A case conversation of `minutes` minutes: one line every SECONDS_PER_LINE seconds."""
    rng = random.Random(seed)
    count = max(2, int(minutes * 60 / SECONDS_PER_LINE))
    lines = list(_OPENINGS) + [rng.choice(_TURNS) for _ in range(count - len(_OPENINGS))]
    segments = []
    for i, (speaker, template) in enumerate(lines):
        text = template.format(**{k: rng.choice(v) for k, v in _FILL.items()})
        start = i * SECONDS_PER_LINE
        segments.append(
            Segment(
                id=i,
                start_s=start,
                end_s=start + SECONDS_PER_LINE - 0.5,
                text=text,
                words=(),
                avg_logprob=-0.2,
                no_speech_prob=0.01,
                speaker=speaker,
            )
        )
    return Transcript(
        language="sv",
        language_probability=1.0,
        duration_s=count * SECONDS_PER_LINE,
        segments=tuple(segments),
        model=ModelInfo("generated", None, "cpu", "n/a"),
    )


def probe(endpoint: LlmEndpoint, messages: list[dict], max_tokens: int) -> dict:
    plain = LlmEndpoint(endpoint.base_url, endpoint.model, timeout_s=endpoint.timeout_s, json_mode="off")
    reply = chat(plain, messages, max_tokens=max_tokens, schema=answer_json_schema())
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "seconds": round(reply.seconds, 2),
    }


def run(args) -> dict:
    settings = Settings(
        _env_file=None,
        data_dir=Path(tempfile.mkdtemp(prefix="swescribe-bench-summary-")),
        model_cache_dir=args.model_cache,
        llm_context_tokens=args.context_tokens,
        llm_max_output_tokens=args.max_output_tokens,
        llm_timeout_s=1800,
    )
    server = start_embedded_server(settings, settings.data_dir / "llm.log")
    try:
        started = time.perf_counter()
        wait_ready(server, timeout_s=300)
        startup_s = round(time.perf_counter() - started, 1)
        endpoint = endpoint_from_settings(with_embedded(settings, server.base_url))
        probe(endpoint, [{"role": "user", "content": "Hej!"}], 8)  # warm-up: weights into memory
        generation = probe(
            endpoint, [{"role": "user", "content": "Berätta utförligt på svenska om Sveriges landskap, ett i taget."}], 256
        )
        long_text = "\n".join(f"[{s.id}] {s.speaker}: {s.text}" for s in conversation(18).segments)
        prompt = probe(endpoint, [{"role": "user", "content": long_text}], 1)
        rows = []
        for minutes in args.minutes:
            transcript = conversation(minutes)
            options = SummaryOptions(args.context_tokens, args.max_output_tokens, RetryPolicy(1, 1.0))
            t0 = time.perf_counter()
            summary = summarize_transcript(transcript, endpoint, options)
            seconds = time.perf_counter() - t0
            rows.append(
                {
                    "minutes": minutes,
                    "segments": len(transcript.segments),
                    "chunks": summary.chunks,
                    "requests": summary.usage.requests,
                    "prompt_tokens": summary.usage.prompt_tokens,
                    "completion_tokens": summary.usage.completion_tokens,
                    "seconds": round(seconds, 1),
                    "seconds_per_transcript_hour": round(seconds / (transcript.duration_s / 3600), 1),
                    "decisions": len(summary.decisions),
                    "action_items": len(summary.action_items),
                    "dropped_ungrounded": summary.dropped_ungrounded,
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        server.stop()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": report.machine_info(),
        "llama_cpp_python": importlib.metadata.version("llama-cpp-python"),
        "model": EMBEDDED_MODEL_NAME,
        "context_tokens": args.context_tokens,
        "max_output_tokens": args.max_output_tokens,
        "server_start_s": startup_s,
        "generation": {**generation, "tokens_per_s": round(generation["completion_tokens"] / generation["seconds"], 1)},
        "prompt": {**prompt, "tokens_per_s": round(prompt["prompt_tokens"] / prompt["seconds"], 1)},
        "summaries": rows,
    }


def render_section(results: dict) -> str:
    m = results["machine"]
    lines = [
        SECTION_HEADING,
        "",
        f"Run {results['date']} on {m['cpu_model']} ({m['cores']} cores, {m['ram_gib']} GiB RAM), {m['os']}; Python {m['python']}, "
        f"llama-cpp-python {results['llama_cpp_python']}. Model `{results['model']}` (Q4_K_M class GGUF) under "
        f"`python -m llama_cpp.server` on 127.0.0.1, all cores, context {results['context_tokens']} tokens, "
        f"at most {results['max_output_tokens']} answer tokens per request. Server start to ready: {results['server_start_s']} s.",
        "",
        "### Token throughput",
        "",
        "| what | tokens | seconds | tokens/s |",
        "|---|---:|---:|---:|",
        f"| generation (short prompt, answer of {results['generation']['completion_tokens']} tokens) | "
        f"{results['generation']['completion_tokens']} | {results['generation']['seconds']} | {results['generation']['tokens_per_s']} |",
        f"| prompt processing (transcript, 1-token answer) | {results['prompt']['prompt_tokens']} | {results['prompt']['seconds']} | "
        f"{results['prompt']['tokens_per_s']} |",
        "",
        "### Whole summaries (generated Swedish case conversations, one line every 8 s)",
        "",
        "| transcript | lines | chunks | requests | prompt tokens | answer tokens | wall (s) | s per transcript-hour | decisions / actions kept | dropped (ungrounded) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["summaries"]:
        lines.append(
            f"| {row['minutes']:g} min | {row['segments']} | {row['chunks']} | {row['requests']} | {row['prompt_tokens']} | "
            f"{row['completion_tokens']} | {row['seconds']} | {row['seconds_per_transcript_hour']} | "
            f"{row['decisions']} / {row['action_items']} | {row['dropped_ungrounded']} |"
        )
    lines += [
        "",
        "Seconds per transcript-hour = wall seconds of the whole summary (map requests over chunks, then merging) / "
        "transcript hours. The summary runs on the cpu queue after the transcript is stored, so this time adds to when "
        "the summary is ready, never to the transcript. A GPU-served Mistral Small (vLLM) is far faster; these are the "
        "numbers of the offline default on a 2-core CPU.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--context-tokens", type=int, default=8192)
    parser.add_argument("--max-output-tokens", type=int, default=1024)
    parser.add_argument("--model-cache", type=Path, default=None, help="Models folder (default: the settings' DATA_DIR/models).")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results" / "summary.json")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    if args.model_cache is None:
        from workers.settings import get_settings

        args.model_cache = get_settings().models_dir
    results = run(args)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    text = args.docs.read_text(encoding="utf-8") if args.docs.is_file() else report.DOCS_HEADER
    args.docs.write_text(report.replace_section(text, SECTION_HEADING, render_section(results)), encoding="utf-8")
    print(render_section(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
