"""`swescribe redact TRANSCRIPT.json`: OUT/<stem>.redacted.<format>, exit 2 on what is not a
transcript, no value left in any output."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.transcripts import segment, transcript, words
from workers.commands.cli import main
from workers.transcript.formats import to_json, transcript_from_json

SAMPLE = transcript(
    segment(0, words((0.0, 0.4, "Jag"), (0.5, 0.9, "heter"), (1.0, 1.5, "Karin"), (1.6, 2.2, "Sjöberg."))),
    segment(1, words((2.5, 3.0, "Personnummer"), (3.1, 4.0, "850312-3310,"), (4.1, 4.4, "ring"), (4.5, 5.5, "0701234567."))),
)


def test_redact_writes_each_format_without_the_values(tmp_path):
    source = tmp_path / "förhör 3.json"
    source.write_text(to_json(SAMPLE), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["redact", str(source), "--out", str(out), "--format", "json", "--format", "srt", "--format", "txt"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["förhör 3.redacted.json", "förhör 3.redacted.srt", "förhör 3.redacted.txt"]
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not any(value in text for value in ("Karin", "Sjöberg", "850312", "3310", "0701234567")), path.name
    redacted = transcript_from_json((out / "förhör 3.redacted.json").read_text(encoding="utf-8"))
    assert redacted.text == "Jag heter [NAMN]. Personnummer [PERSONNUMMER], ring [TELEFON]."
    data = json.loads((out / "förhör 3.redacted.json").read_text(encoding="utf-8"))
    assert [e["type"] for e in data["redaction"]["entities"]] == ["NAMN", "PERSONNUMMER", "TELEFON"]
    assert "redacted 3 spans" in result.output


def test_redact_defaults_to_json_beside_the_transcript(tmp_path):
    source = tmp_path / "möte.json"
    source.write_text(to_json(SAMPLE), encoding="utf-8")
    assert CliRunner().invoke(main, ["redact", str(source)]).exit_code == 0
    assert (tmp_path / "möte.redacted.json").exists()


def test_what_is_not_a_transcript_is_exit_2_with_a_message(tmp_path):
    for name, content in (
        ("a.json", "[1, 2]"),
        ("b.json", '{"schema_version": 1}'),
        ("c.json", "not json"),
        ("d.json", '{"x": 1}'),
    ):
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        result = CliRunner().invoke(main, ["redact", str(path)])
        assert result.exit_code == 2, (name, result.output)
        assert "not a swescribe transcript" in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["redact", str(tmp_path / "gone.json")])
    assert missing.exit_code == 2 and "cannot read" in missing.output
    source = tmp_path / "plain.json"
    source.write_text(to_json(SAMPLE), encoding="utf-8")
    rttm = CliRunner().invoke(main, ["redact", str(source), "--format", "rttm"])
    assert rttm.exit_code == 2 and "diarized" in rttm.output


def test_transcribe_redact_writes_and_summarises_only_the_redacted_transcript(tmp_path, monkeypatch):
    import zipfile
    from types import SimpleNamespace

    import workers.commands.summarize as summarize_module
    from workers.commands.transcribe import TranscribeRequest, _write_outputs

    seen = []

    def summarizer(name, given):
        seen.append(given)
        return SimpleNamespace(summary=None, error=None)

    request = TranscribeRequest(
        paths=(tmp_path / "samtal.wav",),
        model="m",
        language="sv",
        formats=("json", "txt", "vtt", "docx"),
        out_dir=tmp_path / "out",
        prompt=None,
        hotwords=None,
        batch_size=1,
        show_progress=False,
        redact=True,
    )
    monkeypatch.setattr(summarize_module, "json_with_summary", lambda transcript, result: to_json(transcript))
    monkeypatch.setattr(summarize_module, "summary_markdown", lambda path, result: None)
    assert _write_outputs(request, tmp_path / "samtal.wav", SAMPLE, summarizer) is None
    (given,) = seen
    assert given.redaction is not None and "[PERSONNUMMER]" in given.text
    written = sorted((tmp_path / "out").iterdir())
    assert [p.suffix for p in written] == [".docx", ".json", ".txt", ".vtt"]
    for path in written:
        data = zipfile.ZipFile(path).read("word/document.xml") if path.suffix == ".docx" else path.read_bytes()
        assert b"[PERSONNUMMER]" in data, path.name
        assert not any(value.encode() in data for value in ("Karin", "850312", "0701234567")), path.name


def test_a_summary_in_the_input_is_not_carried_over(tmp_path):
    data = json.loads(to_json(SAMPLE))
    data["summary"] = {"abstract": "Karin Sjöberg ringde om sitt personnummer 850312-3310."}
    source = tmp_path / "samtal.json"
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert CliRunner().invoke(main, ["redact", str(source)]).exit_code == 0
    written = (tmp_path / "samtal.redacted.json").read_text(encoding="utf-8")
    assert "summary" not in json.loads(written) and "Sjöberg" not in written and "850312" not in written
