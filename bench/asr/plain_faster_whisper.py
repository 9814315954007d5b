"""The baseline: one recording through faster-whisper directly, with swescribe's decoding settings.

No swescribe pipeline, settings, guards or output formats: load the model folder, call
`WhisperModel.transcribe` with `whisper_kwargs(TranscribeOptions())` (the exact keyword
arguments `swescribe transcribe` passes for a single recording), consume every segment and
write the text. The difference in wall time between this and the CLI is swescribe's overhead.

    python bench/asr/plain_faster_whisper.py FILE --model-dir DIR --device cpu \
        --compute-type int8 --cpu-threads 2 --out OUT.json

OUT.json: {"text", "segments", "load_s", "transcribe_s"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from faster_whisper import WhisperModel

from workers.pipeline.transcribe import TranscribeOptions, whisper_kwargs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--compute-type", required=True)
    parser.add_argument("--cpu-threads", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    model = WhisperModel(args.model_dir, device=args.device, compute_type=args.compute_type, cpu_threads=args.cpu_threads)
    loaded = time.perf_counter()
    segments, _info = model.transcribe(args.file, **whisper_kwargs(TranscribeOptions()))
    # The generator does the decoding: nothing is transcribed until it is consumed.
    texts = [segment.text.strip() for segment in segments]
    finished = time.perf_counter()

    result = {
        "text": " ".join(t for t in texts if t),
        "segments": len(texts),
        "load_s": round(loaded - started, 3),
        "transcribe_s": round(finished - loaded, 3),
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
