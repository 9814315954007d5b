"""A watched folder's own retention of outbox/ and done/: read from its config file beside the
job options, swept with an injectable clock."""

from __future__ import annotations

import time

import pytest

from workers.ingest.folder_config import FolderConfigError, load_folder_config, load_folder_retention, parse_folder_config
from workers.ingest.layout import prepare_folder
from workers.ingest.retention import FolderRetention, every, sweep

DAY = 86_400


def test_the_retention_keys_sit_beside_the_job_options(tmp_path):
    (tmp_path / "swescribe.toml").write_text("diarize = true\nretention_outbox_days = 30\nretention_done_days = 0\n")
    assert load_folder_config(tmp_path).diarize is True
    assert load_folder_retention(tmp_path) == FolderRetention(outbox_days=30, done_days=0)
    assert load_folder_retention(tmp_path / "nowhere") == FolderRetention()


@pytest.mark.parametrize("value", ['"30"', "-1", "1.5", "true", "100001"])
def test_a_bad_retention_value_names_the_file_and_key(value):
    with pytest.raises(FolderConfigError, match="retention_done_days"):
        parse_folder_config(f"retention_done_days = {value}\n", "toml", "inkorg/swescribe.toml")


def test_the_sweep_deletes_only_what_the_folder_no_longer_keeps(tmp_path):
    layout = prepare_folder(tmp_path)
    (layout.outbox / "möte.json").write_text("{}")
    (layout.outbox / "möte.txt").write_text("Hej")
    (layout.done / "möte.wav").write_bytes(b"RIFF")
    (layout.inbox / "nytt.wav").write_bytes(b"RIFF")
    now = time.time()
    assert sweep(layout, FolderRetention(outbox_days=1, done_days=3), now=lambda: now) == []
    assert sorted(sweep(layout, FolderRetention(outbox_days=1, done_days=3), now=lambda: now + 2 * DAY)) == [
        "outbox/möte.json",
        "outbox/möte.txt",
    ]
    assert sweep(layout, FolderRetention(outbox_days=1, done_days=None), now=lambda: now + 30 * DAY) == [], "None keeps"
    assert sweep(layout, FolderRetention(outbox_days=1, done_days=3), now=lambda: now + 4 * DAY) == ["done/möte.wav"]
    assert sweep(layout, FolderRetention(outbox_days=1, done_days=3), now=lambda: now + 4 * DAY) == [], "idempotent"
    assert (layout.inbox / "nytt.wav").exists(), "the inbox is never swept"


def test_every_runs_at_most_once_per_interval():
    ran, clock = [], [0.0]
    maybe = every(10.0, lambda: ran.append(clock[0]), clock=lambda: clock[0])
    for t in (0.0, 5.0, 10.0, 12.0, 25.0):
        clock[0] = t
        maybe()
    assert ran == [0.0, 10.0, 25.0]


def test_a_folders_job_is_in_the_audit_trail_without_its_file_name(tmp_path):
    from tests.unit.test_ingest_runner import drop, ingester, take_all
    from workers.store import audit
    from workers.store.db import DEFAULT_TENANT, session_factory
    from workers.store.migrate import upgrade
    from workers.store.storage import LocalStorage

    url = f"sqlite:///{tmp_path / 'swescribe.db'}"
    upgrade(url)
    env = (session_factory(url), LocalStorage(tmp_path / "storage"), prepare_folder(tmp_path), [])
    drop(env, "Anna Svensson 19121212-1212.flac")
    take_all(ingester(env))
    [event] = audit.find(env[0], audit.AuditFilter(DEFAULT_TENANT, action=audit.Action.JOB_CREATED), 10, 0)
    assert (event.object_id, event.client, event.detail["route"]) == (env[3][0], "ingest", "folder")
    assert "19121212" not in str(audit.as_dict(event)) and audit.verify(env[0]) == (1, [])
