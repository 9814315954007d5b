"""Speaker names and corrected transcripts over REST: validation, revisions, every format with
the names, roles and tenants, audit, retention."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from tests.api.conftest import assert_error, completed_job, queued_job
from tests.api.test_governance import events, key_of
from workers.runners.purge import PurgeOptions, purge
from workers.store import revisions
from workers.store.db import utcnow
from workers.webhooks import store as webhook_store
from workers.webhooks.notify import notify_job_finished


def _put_names(api, job_id, names, key=None):
    return api.client.put(f"/v1/jobs/{job_id}/speakers", json=names, headers=api.auth(key))


def _revise(api, job_id, segments, key=None, **extra):
    return api.client.post(f"/v1/jobs/{job_id}/transcript/revisions", json={"segments": segments, **extra}, headers=api.auth(key))


def test_speakers_are_named_once_and_every_format_shows_the_names(api):
    job_id = completed_job(api, options={"diarize": True}, diarized=True)
    named = _put_names(api, job_id, {"Talare 1": "  Anna   Berg ", "Talare 2": "Bo Ek"})
    assert named.status_code == 200, named.text
    assert named.json() == {"labels": ["Talare 1", "Talare 2"], "names": {"Talare 1": "Anna Berg", "Talare 2": "Bo Ek"}}
    document = api.client.get(f"/v1/jobs/{job_id}/transcript", headers=api.auth()).json()
    assert [s["speaker"] for s in document["segments"]] == ["Anna Berg", "Bo Ek"]
    assert {sp["id"] for sp in document["speakers"]} == {"Anna Berg", "Bo Ek"}
    assert {w["speaker"] for w in document["segments"][0]["words"]} == {"Anna Berg"}
    for fmt in ("txt", "txt-plain", "srt", "vtt", "rttm"):
        body = api.client.get(f"/v1/jobs/{job_id}/transcript?format={fmt}", headers=api.auth()).text
        assert "Talare" not in body, fmt
        assert ("Anna_Berg" if fmt == "rttm" else "Anna Berg") in body, fmt
    assert "Anna Berg: Hej alla" in api.client.get(f"/v1/jobs/{job_id}/transcript?format=txt", headers=api.auth()).text
    from docx import Document

    docx = api.client.get(f"/v1/jobs/{job_id}/transcript?format=docx", headers=api.auth()).content
    text = "\n".join(p.text for p in Document(io.BytesIO(docx)).paragraphs)
    assert "Anna Berg" in text and "Talare 1" not in text
    # Replaced whole: a label left out goes back to its label.
    assert _put_names(api, job_id, {"Talare 2": "Bo Ek"}).json()["names"] == {"Talare 2": "Bo Ek"}
    assert api.client.get(f"/v1/jobs/{job_id}/speakers", headers=api.auth()).json()["names"] == {"Talare 2": "Bo Ek"}
    [event] = events(api, action="speakers.renamed")[-1:]
    assert event["object_id"] == job_id and "Bo" not in json.dumps(event)


@pytest.mark.parametrize(
    ("names", "code"),
    [
        ({"Talare 9": "X"}, "unknown_speaker"),
        ({"Talare 1": "   "}, "invalid_speaker_name"),
        ({"Talare 1": "x" * 101}, "invalid_speaker_name"),
        ({"Talare 1": "Bo\x00"}, "invalid_text"),
        ({"Talare 1": "Bo", "Talare 2": "Bo"}, "duplicate_speaker_name"),
        ({"Talare 1": "Talare 2"}, "duplicate_speaker_name"),
    ],
)
def test_bad_speaker_names_are_refused(api, names, code):
    job_id = completed_job(api, options={"diarize": True}, diarized=True)
    assert_error(_put_names(api, job_id, names), 422, code)
    assert revisions.speaker_names(api.sessions, job_id) == {}


def test_a_body_that_is_not_a_mapping_of_names_is_422(api):
    job_id = completed_job(api, options={"diarize": True}, diarized=True)
    assert_error(_put_names(api, job_id, ["Anna"]), 422)
    assert_error(_put_names(api, job_id, {"Talare 1": 5}), 422)
    assert_error(_put_names(api, completed_job(api), {"Talare 1": "A"}), 422, "unknown_speaker")


def test_a_correction_is_a_new_revision_and_the_machine_transcript_is_kept(api):
    job_id = completed_job(api)
    created = _revise(api, job_id, [{"id": 0, "text": "Hej allihop"}], note="stavning")
    assert created.status_code == 201, created.text
    assert (created.json()["revision"], created.json()["segments_changed"], created.json()["note"]) == (1, 1, "stavning")
    assert created.headers["location"] == f"/v1/jobs/{job_id}/transcript?revision=1"
    latest = api.client.get(f"/v1/jobs/{job_id}/transcript", headers=api.auth())
    assert latest.headers["x-transcript-revision"] == "1"
    seg = latest.json()["segments"][0]
    assert seg["text"] == "Hej allihop" and [w["text"] for w in seg["words"]] == ["Hej", "allihop"]
    # Same word count: each word keeps its times; the changed one is certain.
    assert [(w["start_s"], w["end_s"]) for w in seg["words"]] == [(0.0, 0.4), (0.5, 0.9)]
    assert seg["words"][1]["probability"] == 1.0
    machine = api.client.get(f"/v1/jobs/{job_id}/transcript?revision=0", headers=api.auth()).json()
    assert machine["segments"][0]["text"] == "Hej alla"
    assert "Hej allihop" in api.client.get(f"/v1/jobs/{job_id}/transcript?format=txt", headers=api.auth()).text
    # Another word count: the words share the old words' span by length.
    second = _revise(api, job_id, [{"id": 1, "text": "Mötet börjar nu klockan tio"}], base_revision=1)
    assert second.json()["revision"] == 2
    words = api.client.get(f"/v1/jobs/{job_id}/transcript", headers=api.auth()).json()["segments"][1]["words"]
    assert len(words) == 5 and words[0]["start_s"] == 1.0 and words[-1]["end_s"] == pytest.approx(2.0)
    assert all(a["end_s"] <= b["start_s"] + 1e-9 for a, b in zip(words, words[1:], strict=False))
    listed = api.client.get(f"/v1/jobs/{job_id}/transcript/revisions", headers=api.auth()).json()
    assert listed["latest"] == 2 and [r["revision"] for r in listed["revisions"]] == [0, 1, 2]
    assert listed["revisions"][0]["key_id"] is None and listed["revisions"][1]["key_id"] == api.owner
    one = api.client.get(f"/v1/jobs/{job_id}/transcript?revision=1&format=txt", headers=api.auth()).text
    assert "Hej allihop" in one and "klockan" not in one
    assert_error(api.client.get(f"/v1/jobs/{job_id}/transcript?revision=3", headers=api.auth()), 404, "revision_not_found")
    assert_error(api.client.get(f"/v1/jobs/{job_id}/transcript?revision=-1", headers=api.auth()), 422)
    assert_error(api.client.get(f"/v1/jobs/{job_id}/transcript?revision=x", headers=api.auth()), 422)
    [event] = events(api, action="transcript.revised")[-1:]
    assert event["detail"] == {"revision": 2, "segments_changed": 1} and "klockan" not in json.dumps(events(api))


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"segments": [{"id": 7, "text": "x"}]}, 422, "unknown_segment"),
        ({"segments": [{"id": 0, "text": "a"}, {"id": 0, "text": "b"}]}, 422, "duplicate_segment"),
        ({"segments": [{"id": 0, "text": "Hej   alla "}]}, 422, "nothing_changed"),
        ({"segments": [{"id": 0, "text": "x\x07"}]}, 422, "invalid_text"),
        ({"segments": [{"id": 0, "text": "x" * 5001}]}, 422, None),
        ({"segments": []}, 422, None),
        ({"segments": [{"id": "a", "text": "x"}]}, 422, None),
        ({"segments": [{"id": 0, "text": "x"}], "note": "n" * 201}, 422, None),
        ({"segments": [{"id": 0, "text": "x"}], "base_revision": 4}, 404, "revision_not_found"),
        ({"segments": [{"id": 0, "text": "x"}], "base_revision": 2**40}, 422, None),
        ({}, 422, None),
    ],
)
def test_bad_corrections_are_refused(api, body, status, code):
    job_id = completed_job(api)
    assert_error(api.client.post(f"/v1/jobs/{job_id}/transcript/revisions", json=body, headers=api.auth()), status, code)
    assert revisions.latest_revision(api.sessions, job_id) == 0


def test_a_correction_of_an_older_revision_is_a_conflict(api):
    job_id = completed_job(api)
    assert _revise(api, job_id, [{"id": 0, "text": "Hej du"}], base_revision=0).status_code == 201
    assert_error(_revise(api, job_id, [{"id": 0, "text": "Hej ni"}], base_revision=0), 409, "revision_conflict")
    assert [p for p in api.leftovers() if ".r2." in p] == []


def test_a_deleted_segment_text_removes_its_words(api):
    job_id = completed_job(api)
    assert _revise(api, job_id, [{"id": 1, "text": ""}]).status_code == 201
    seg = api.client.get(f"/v1/jobs/{job_id}/transcript", headers=api.auth()).json()["segments"][1]
    assert (seg["text"], seg["words"]) == ("", [])


def test_tenants_roles_unfinished_and_purged_jobs(api):
    job_id = completed_job(api, options={"diarize": True}, diarized=True)
    for call in (
        lambda k: _put_names(api, job_id, {"Talare 1": "A"}, k),
        lambda k: _revise(api, job_id, [{"id": 0, "text": "x"}], k),
        lambda k: api.client.get(f"/v1/jobs/{job_id}/transcript/revisions", headers=api.auth(k)),
    ):
        assert_error(call(api.other_key), 404, "job_not_found")
    _, uploader = key_of(api, "uploader")
    _, member = key_of(api, "member")
    assert_error(_put_names(api, job_id, {"Talare 1": "A"}, uploader), 404, "job_not_found")
    assert _revise(api, job_id, [{"id": 0, "text": "Hej hej"}], member).status_code == 201
    # An uploader corrects its own job.
    uploaded = api.upload(key=uploader).json()["id"]
    assert_error(_revise(api, uploaded, [{"id": 0, "text": "x"}], uploader), 409, "transcript_not_ready")
    assert_error(_revise(api, queued_job(api), [{"id": 0, "text": "x"}]), 409, "transcript_not_ready")
    # Retention takes the revisions and names with the results.
    _put_names(api, job_id, {"Talare 1": "Anna"})
    purged = purge(api.sessions, api.storage, PurgeOptions(168, 30), now=lambda: utcnow() + timedelta(days=31))
    assert job_id in purged.results
    assert revisions.list_revisions(api.sessions, job_id) == [] and revisions.speaker_names(api.sessions, job_id) == {}
    assert not [p for p in api.leftovers() if job_id in p and "transcript" in p]
    for call in (
        _put_names(api, job_id, {"Talare 1": "A"}),
        _revise(api, job_id, [{"id": 0, "text": "x"}]),
        api.client.get(f"/v1/jobs/{job_id}/transcript?revision=1", headers=api.auth()),
        api.client.get(f"/v1/jobs/{job_id}/transcript/revisions", headers=api.auth()),
    ):
        assert_error(call, 410, "transcript_purged")


def test_deleting_a_job_deletes_its_revisions_and_names(api):
    job_id = completed_job(api, options={"diarize": True}, diarized=True)
    _put_names(api, job_id, {"Talare 1": "Anna"})
    _revise(api, job_id, [{"id": 0, "text": "Hej du"}])
    assert api.client.delete(f"/v1/jobs/{job_id}", headers=api.auth()).status_code == 204
    assert revisions.speaker_names(api.sessions, job_id) == {} and revisions.list_revisions(api.sessions, job_id) == []
    assert not [p for p in api.leftovers() if job_id in p]


def test_a_later_webhook_carries_the_latest_revision_with_the_names(api):
    job_id = completed_job(api, options={"diarize": True}, diarized=True)
    webhook_store.set_endpoint(api.sessions, api.owner, "https://hooks.example/swescribe")
    _put_names(api, job_id, {"Talare 1": "Anna Berg"})
    _revise(api, job_id, [{"id": 0, "text": "Hej allihop"}])
    [delivery_id] = notify_job_finished(api.sessions, api.storage, api.settings, job_id, lambda _id: None)
    [(delivery, _)] = [d for d in webhook_store.for_job(api.sessions, job_id) if d[0].id == delivery_id]
    transcript = json.loads(delivery.payload)["data"]["transcript"]
    assert transcript["segments"][0]["speaker"] == "Anna Berg" and transcript["segments"][0]["text"] == "Hej allihop"


def test_a_redelivery_carries_the_transcript_as_it_is_now(api):
    job_id = completed_job(api, options={"diarize": True}, diarized=True)
    webhook_store.set_endpoint(api.sessions, api.owner, "https://hooks.example/swescribe")
    [delivery_id] = notify_job_finished(api.sessions, api.storage, api.settings, job_id, lambda _id: None)
    _put_names(api, job_id, {"Talare 2": "Bo Ek"})
    assert api.client.post(f"/v1/jobs/{job_id}/webhook/redeliver", headers=api.auth()).status_code == 202
    [(delivery, _)] = webhook_store.for_job(api.sessions, job_id)
    body = json.loads(delivery.payload)
    assert delivery.id == delivery_id and body["type"] == "job.completed"
    assert [s["speaker"] for s in body["data"]["transcript"]["segments"]] == ["Talare 1", "Bo Ek"]
