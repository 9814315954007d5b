"""Transcribe one recording with one batch size, as the worker does, and write what it heard.

Loads the model the way swescribe does (resolve_model + load_model), decodes the file
(workers.transcript.audio.decode_audio) and runs workers.pipeline.transcribe.transcribe with
TranscribeOptions(batch_size=N) and every other option at its default (Swedish, beam 5,
Silero VAD, word timestamps, guards). Writes JSON: the words with their times, the text, and
in-process timings (model load; decode; transcription wall and CPU seconds). run.py starts one
such process per batch size and measures the process from outside (wall, CPU, peak RSS).

    python bench/long_batched/transcribe_one.py --audio FILE --batch-size 8 --out OUT.json \
        --model whisper-base-offline --models-dir DIR --cpu-threads 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from workers.pipeline.asr_model import DeviceOptions, load_model  # noqa: E402
from workers.pipeline.model_registry import resolve_model  # noqa: E402
from workers.pipeline.transcribe import TranscribeOptions, transcribe  # noqa: E402
from workers.transcript.audio import decode_audio  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audio", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="whisper-base-offline")
    parser.add_argument("--models-dir", type=Path, required=True, help="where the offline model is assembled")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compute-type", default="auto")
    parser.add_argument("--cpu-threads", type=int, default=2)
    args = parser.parse_args(argv)

    source = resolve_model(args.model, cache_dir=args.models_dir)
    model = load_model(source, DeviceOptions(args.device, args.compute_type, args.cpu_threads))

    started = time.perf_counter()
    audio = decode_audio(args.audio)
    decode_s = time.perf_counter() - started

    options = TranscribeOptions(batch_size=args.batch_size)
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    transcript = transcribe(model, audio, options)
    transcribe_s = time.perf_counter() - wall_started
    transcribe_cpu_s = time.process_time() - cpu_started

    words = [{"start_s": w.start_s, "end_s": w.end_s, "text": w.text} for s in transcript.segments for w in s.words]
    result = {
        "batch_size": args.batch_size,
        "model": {
            "name": source.name,
            "revision": source.revision,
            "device": model.info.device,
            "compute_type": model.info.compute_type,
        },
        "load_s": round(model.load_s, 3),
        "decode_s": round(decode_s, 3),
        "transcribe_s": round(transcribe_s, 3),
        "transcribe_cpu_s": round(transcribe_cpu_s, 3),
        "audio_s": transcript.duration_s,
        "segments": len(transcript.segments),
        "words": words,
        "text": " ".join(s.text for s in transcript.segments),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
