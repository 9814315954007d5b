"""Storage backends: the same behaviour from a local folder and from a real S3 HTTP server.

S3 runs against moto's server mode in a subprocess, so requests go over HTTP exactly as they
would to MinIO or Ceph (the in-process mock would skip the network, timeouts and retries).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.local.ports import free_port
from workers.settings import Settings
from workers.store.storage import (
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    Storage,
    StorageUnavailable,
    TooLarge,
    storage_from_settings,
    validate_key,
)

CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}
BAD_KEYS = ["../x", "/abs", "a//b", "a\\b", "a/../b", "./a", "a/", ""]


def raw_s3(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def make_s3(endpoint: str, bucket: str, **kwargs) -> S3Storage:
    return S3Storage(bucket=bucket, endpoint_url=endpoint, region="us-east-1", **CREDENTIALS, **kwargs)


@dataclass
class Backend:
    storage: Storage
    leftovers: Callable[[], list[str]]  # every file or object the backend holds, temp files included


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path) -> Backend:
    if request.param == "local":
        root = tmp_path / "storage"
        storage = LocalStorage(root)
        storage.check()
        return Backend(storage, lambda: sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()))

    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    storage = make_s3(endpoint, bucket, create_bucket=True)
    storage.check()  # creates the bucket
    client = raw_s3(endpoint)

    def leftovers() -> list[str]:
        objects = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        uploads = [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
        return sorted(objects + [f"(unfinished upload) {k}" for k in uploads])

    return Backend(storage, leftovers)


def holds(storage, key: str) -> bool:
    """Whether `key` holds an object, asked the way the service asks: by reading it."""
    try:
        storage.read_bytes(key)
    except ObjectNotFound:
        return False
    return True


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# --- writing ------------------------------------------------------------------------------


def test_stream_save_records_size_and_sha256(backend):
    # 9 MiB passes boto3's 8 MiB multipart threshold, so the multipart path is covered too.
    data = os.urandom(9 * 1024 * 1024 + 123)
    stored = backend.storage.save_stream("jobs/1/audio.flac", chunked(data, 64 * 1024), max_bytes=len(data))

    assert stored.key == "jobs/1/audio.flac"
    assert stored.size_bytes == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert backend.storage.read_bytes("jobs/1/audio.flac") == data
    assert backend.leftovers() == ["jobs/1/audio.flac"]


def test_an_object_is_invisible_until_its_stream_completes(backend):
    seen_mid_stream = []

    def chunks():
        yield b"first half "
        seen_mid_stream.append(holds(backend.storage, "jobs/1/audio.flac"))
        yield b"second half"

    backend.storage.save_stream("jobs/1/audio.flac", chunks(), max_bytes=None)
    assert seen_mid_stream == [False]
    assert backend.storage.read_bytes("jobs/1/audio.flac") == b"first half second half"


def test_too_large_stops_at_once_and_leaves_nothing(backend):
    pulled = []

    def chunks():
        for i in range(100):
            pulled.append(i)
            yield b"x" * 300

    with pytest.raises(TooLarge) as raised:
        backend.storage.save_stream("jobs/1/audio.flac", chunks(), max_bytes=1000)

    assert raised.value.max_bytes == 1000
    assert len(pulled) == 4  # the 4th chunk crosses 1000 bytes; nothing more is read from the client
    assert not holds(backend.storage, "jobs/1/audio.flac")
    assert backend.leftovers() == []


def test_a_stream_of_exactly_max_bytes_is_accepted(backend):
    stored = backend.storage.save_stream("a/b", [b"x" * 600, b"y" * 400], max_bytes=1000)
    assert stored.size_bytes == 1000


def test_a_failing_stream_leaves_nothing(backend):
    def chunks():
        yield b"some audio"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        backend.storage.save_stream("jobs/1/audio.flac", chunks(), max_bytes=None)
    assert backend.leftovers() == []


def test_a_failed_replacement_keeps_the_old_object(backend):
    backend.storage.save_bytes("jobs/1/audio.flac", b"old")
    with pytest.raises(TooLarge):
        backend.storage.save_stream("jobs/1/audio.flac", [b"new" * 10], max_bytes=5)
    assert backend.storage.read_bytes("jobs/1/audio.flac") == b"old"
    assert backend.leftovers() == ["jobs/1/audio.flac"]


def test_save_bytes_round_trips_and_overwrites(backend):
    first = backend.storage.save_bytes("jobs/1/result.json", b'{"text": "hej"}')
    assert first.sha256 == hashlib.sha256(b'{"text": "hej"}').hexdigest()
    backend.storage.save_bytes("jobs/1/result.json", '{"text": "hej då"}'.encode())
    assert backend.storage.read_bytes("jobs/1/result.json").decode() == '{"text": "hej då"}'


def test_an_empty_object_is_an_object(backend):
    stored = backend.storage.save_stream("jobs/1/empty", iter(()), max_bytes=0)
    assert stored.size_bytes == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert holds(backend.storage, "jobs/1/empty")
    assert backend.storage.read_bytes("jobs/1/empty") == b""


# --- reading ------------------------------------------------------------------------------


def test_a_missing_object_is_not_found(backend):
    with pytest.raises(ObjectNotFound):
        backend.storage.read_bytes("jobs/404/audio.flac")
    with pytest.raises(ObjectNotFound), backend.storage.local_copy("jobs/404/audio.flac"):
        pass


def test_a_folder_is_not_an_object(backend):
    backend.storage.save_bytes("jobs/1/audio.flac", b"a")
    assert not holds(backend.storage, "jobs/1")
    with pytest.raises(ObjectNotFound):
        backend.storage.read_bytes("jobs/1")


def test_local_copy_is_a_readable_file_with_the_same_bytes(backend):
    data = os.urandom(100_000)
    backend.storage.save_bytes("jobs/1/audio.flac", data)

    with backend.storage.local_copy("jobs/1/audio.flac") as path:
        assert path.is_file()
        assert path.read_bytes() == data
        assert path.suffix == ".flac"  # decoders may use it as a format hint
    if isinstance(backend.storage, S3Storage):
        assert not path.exists()
    else:
        assert path.exists()  # the stored file itself, not a copy


# --- deleting -----------------------------------------------------------------------------


def test_delete_prefix_removes_only_that_prefix_and_is_idempotent(backend):
    for key in ["jobs/1/audio.flac", "jobs/1/results/transcript.json", "jobs/10/audio.flac", "jobs/2/audio.flac"]:
        backend.storage.save_bytes(key, b"x")

    assert backend.storage.delete_prefix("jobs/1") == 2
    assert backend.leftovers() == ["jobs/10/audio.flac", "jobs/2/audio.flac"]
    assert backend.storage.delete_prefix("jobs/1") == 0
    assert backend.storage.delete_prefix("jobs/never-existed") == 0


def test_delete_prefix_of_a_single_object_key_deletes_nothing(backend):
    # "prefix/" semantics: a key is not a folder, so a job's audio key never deletes itself alone.
    backend.storage.save_bytes("jobs/1/audio.flac", b"x")
    assert backend.storage.delete_prefix("jobs/1/audio.flac") == 0
    assert holds(backend.storage, "jobs/1/audio.flac")


# --- keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", BAD_KEYS)
def test_unsafe_keys_are_rejected_by_every_operation(backend, key):
    operations = [
        lambda: backend.storage.save_stream(key, [b"x"], max_bytes=None),
        lambda: backend.storage.save_bytes(key, b"x"),
        lambda: backend.storage.read_bytes(key),
        lambda: backend.storage.delete_prefix(key),
        lambda: backend.storage.local_copy(key).__enter__(),
    ]
    for operation in operations:
        with pytest.raises(ValueError):
            operation()
    assert backend.leftovers() == []


@given(st.text(alphabet=st.sampled_from(["a", "b", ".", "/", "\\", ":", "~"]), max_size=12))
def test_a_valid_key_always_stays_inside_the_local_root(key):
    root = Path("/srv/storage")
    try:
        validate_key(key)
    except ValueError:
        return
    path = LocalStorage(root)._path(key)
    assert path.resolve().is_relative_to(root.resolve())
    assert path != root


# --- readiness ----------------------------------------------------------------------------


def test_check_passes_on_a_working_backend(backend):
    backend.storage.check()
    assert backend.leftovers() == []  # the local write probe cleans up after itself


def test_check_fails_quickly_when_the_s3_endpoint_is_down():
    storage = make_s3(f"http://127.0.0.1:{free_port()}", "audio")
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        storage.check()
    assert time.monotonic() - started < 10


def test_check_fails_when_the_bucket_is_missing_and_may_not_be_created(s3_endpoint):
    with pytest.raises(StorageUnavailable, match="not usable"):
        make_s3(s3_endpoint, f"missing-{uuid.uuid4().hex[:12]}").check()


def test_check_fails_when_the_local_root_is_a_file(tmp_path):
    root = tmp_path / "storage"
    root.write_text("not a folder")
    with pytest.raises(StorageUnavailable, match="not writable"):
        LocalStorage(root).check()


def test_local_files_follow_the_umask(tmp_path):
    # Workers on other hosts may run as another user of the same group: the umask decides.
    old = os.umask(0o027)
    try:
        LocalStorage(tmp_path).save_bytes("jobs/1/audio.flac", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "jobs/1/audio.flac").stat().st_mode & 0o777 == 0o640


# --- S3 specifics -------------------------------------------------------------------------


def test_an_s3_local_copy_is_removed_when_the_block_fails(s3_endpoint):
    # Only the S3 backend makes a temporary copy; a failed decode must not leak it.
    storage = make_s3(s3_endpoint, f"copy-{uuid.uuid4().hex[:12]}", create_bucket=True)
    storage.check()
    storage.save_bytes("jobs/1/audio.flac", b"audio")
    with pytest.raises(RuntimeError), storage.local_copy("jobs/1/audio.flac") as path:
        raise RuntimeError("decoding failed")
    assert not path.exists()


def test_another_host_reads_what_one_host_wrote(s3_endpoint):
    # The API host stores the upload; a GPU worker elsewhere builds its own client and reads it.
    bucket = f"shared-{uuid.uuid4().hex[:12]}"
    api_host = make_s3(s3_endpoint, bucket, create_bucket=True)
    api_host.check()
    data = os.urandom(300_000)
    stored = api_host.save_stream("jobs/7/audio.flac", chunked(data, 8192), max_bytes=None)

    gpu_host = make_s3(s3_endpoint, bucket)
    gpu_host.check()
    assert holds(gpu_host, "jobs/7/audio.flac")
    with gpu_host.local_copy("jobs/7/audio.flac") as path:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == stored.sha256
    gpu_host.save_bytes("jobs/7/transcript.json", b"{}")
    assert api_host.read_bytes("jobs/7/transcript.json") == b"{}"


def test_an_s3_prefix_keeps_installations_apart(s3_endpoint):
    bucket = f"prefixed-{uuid.uuid4().hex[:12]}"
    first = make_s3(s3_endpoint, bucket, prefix="site-a/", create_bucket=True)
    first.check()
    second = make_s3(s3_endpoint, bucket, prefix="site-b")
    first.save_bytes("jobs/1/audio.flac", b"a")
    second.save_bytes("jobs/1/audio.flac", b"b")

    keys = [o["Key"] for o in raw_s3(s3_endpoint).list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(keys) == ["site-a/jobs/1/audio.flac", "site-b/jobs/1/audio.flac"]
    assert first.delete_prefix("jobs") == 1
    assert second.read_bytes("jobs/1/audio.flac") == b"b"


def test_s3_objects_carry_their_sha256(s3_endpoint):
    bucket = f"meta-{uuid.uuid4().hex[:12]}"
    storage = make_s3(s3_endpoint, bucket, create_bucket=True)
    storage.check()
    stored = storage.save_stream("jobs/1/audio.flac", [b"audio"], max_bytes=None)
    head = raw_s3(s3_endpoint).head_object(Bucket=bucket, Key="jobs/1/audio.flac")
    assert head["Metadata"]["sha256"] == stored.sha256


# --- settings -----------------------------------------------------------------------------


def test_local_storage_defaults_to_the_data_dir(tmp_path):
    storage = storage_from_settings(Settings(_env_file=None, data_dir=tmp_path))
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "storage"


def test_s3_storage_without_a_bucket_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="SWESCRIBE_S3_BUCKET"):
        storage_from_settings(Settings(_env_file=None, data_dir=tmp_path, storage="s3"))


def test_s3_storage_is_built_from_settings(s3_endpoint, tmp_path):
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        storage="s3",
        s3_bucket=f"settings-{uuid.uuid4().hex[:12]}",
        s3_endpoint_url=s3_endpoint,
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
        s3_prefix="swescribe",
        s3_create_bucket=True,
    )
    storage = storage_from_settings(settings)
    storage.check()
    storage.save_bytes("jobs/1/result.json", b"{}")
    assert storage.read_bytes("jobs/1/result.json") == b"{}"
