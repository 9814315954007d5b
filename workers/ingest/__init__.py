"""Batch folder ingestion: recordings dropped into DIR/inbox become jobs; results land in DIR/outbox.

    DIR/inbox/        recordings to transcribe (taken once fully written)
    DIR/outbox/       <name>.json .txt .plain.txt .srt .vtt .docx (+ .rttm when diarized, <name>.summary.md
                      when the job has a summary, which the .docx then holds too)
    DIR/done/         recordings whose transcript is in outbox/
    DIR/failed/       recordings that could not be transcribed, each with <name>.error.txt
    DIR/.processing/  claimed recordings and their state records (resumed after a crash)
    DIR/swescribe.toml or swescribe.json   the folder's job options (optional)

Jobs go through the job store and the gpu queue like uploads, so the same workers run them.
"""
