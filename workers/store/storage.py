"""Where audio and results live: one small interface, a local-folder and an S3 backend.

Keys are "/"-separated relative strings such as "jobs/<job_id>/audio.flac". Every write is
atomic (a reader sees the old object, no object, or the whole new one, never a prefix of it),
so a worker killed mid-write leaves nothing half-written behind. Uploads are streamed: an
audio file is never held whole in memory.

    storage = storage_from_settings(get_settings())
    stored = storage.save_stream("jobs/42/audio.flac", chunks, max_bytes=2 * 1024**3)
    with storage.local_copy(stored.key) as path:
        decode(path)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Protocol

from workers.transcript.files import TEMP_SUFFIX, atomic_writer, is_temporary

if TYPE_CHECKING:
    from workers.settings import Settings

logger = logging.getLogger(__name__)


class StorageError(Exception):
    """Base of the storage errors; the service translates them once at each edge."""


class ObjectNotFound(StorageError):
    """No object under this key."""


class TooLarge(StorageError):
    """The stream went past `max_bytes`; nothing was stored."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"object exceeds the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


class StorageUnavailable(StorageError):
    """The backend cannot be used right now (folder not writable, bucket unreachable). Transient."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size_bytes: int
    sha256: str  # lowercase hex digest of the content


class Storage(Protocol):
    def save_stream(self, key: str, chunks: Iterable[bytes], max_bytes: int | None) -> StoredObject:
        """Store the concatenated chunks; raise TooLarge (storing nothing) past max_bytes."""
        ...

    def save_bytes(self, key: str, data: bytes) -> StoredObject:
        """Store small content such as a JSON result."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """The whole content; ObjectNotFound if missing."""
        ...

    def local_copy(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A local file with the object's content, valid inside the `with` block."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under "prefix/"; return how many. Deleting nothing is fine."""
        ...

    def delete(self, key: str) -> None:
        """Delete one object; a missing one is fine (a purge killed midway runs again)."""
        ...

    def check(self) -> None:
        """Raise StorageUnavailable with a reason when the backend is not usable (for /readyz)."""
        ...


def validate_key(key: str) -> str:
    """Return `key` if it is a safe relative key, else raise ValueError.

    Rejecting absolute paths, "." / ".." and empty segments is what keeps LocalStorage inside
    its root; backslashes are rejected because Windows-style paths would mean different files on
    different backends.
    """
    if not isinstance(key, str) or not key:
        raise ValueError("storage key must be a non-empty string")
    if "\\" in key or "\x00" in key:
        raise ValueError(f"storage key must not contain backslashes or NUL: {key!r}")
    if key.startswith("/"):
        raise ValueError(f"storage key must be relative: {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(f"storage key has an empty, '.' or '..' segment: {key!r}")
    return key


def _copy_limited(chunks: Iterable[bytes], out: IO[bytes], max_bytes: int | None) -> tuple[int, str]:
    """Write chunks to `out`, returning (size, sha256 hex); TooLarge before writing past the limit."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise TooLarge(max_bytes)
        digest.update(chunk)
        out.write(chunk)
    return size, digest.hexdigest()


class LocalStorage:
    """Objects as files under `root`; also fine on a shared network mount.

    Atomicity comes from atomic_writer: a temp file in the target folder, renamed into place (a
    rename within one folder is atomic on local filesystems and on NFS). No locks are taken:
    flock is unreliable on network mounts, and two writers of one key simply leave the last
    complete file.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def save_stream(self, key: str, chunks: Iterable[bytes], max_bytes: int | None) -> StoredObject:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(path) as out:
            size, sha256 = _copy_limited(chunks, out, max_bytes)
        return StoredObject(key=key, size_bytes=size, sha256=sha256)

    def save_bytes(self, key: str, data: bytes) -> StoredObject:
        return self.save_stream(key, [data], max_bytes=None)

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as e:
            raise ObjectNotFound(key) from e

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        # The file itself: no copy. Safe because writers replace it rather than rewrite it.
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        yield path

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        folder = self._path(prefix)
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file() and not is_temporary(p))
        shutil.rmtree(folder, onerror=_ignore_missing)
        logger.debug("deleted %d objects under %s", count, folder)
        return count

    def check(self) -> None:
        try:
            # Creating the root here matches what the first write would do on a fresh install.
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".check.", suffix=TEMP_SUFFIX) as probe:
                probe.write(b"ok")
                probe.flush()
        except OSError as e:
            raise StorageUnavailable(f"storage folder {self.root} is not writable: {e}") from e


def _ignore_missing(function, path, exc_info) -> None:
    # A concurrent delete of the same prefix may remove files first: that is fine.
    if not issubclass(exc_info[0], FileNotFoundError):
        raise exc_info[1]


class S3Storage:
    """Objects in an S3-compatible bucket (MinIO, Ceph, AWS), optionally under a key prefix.

    S3 makes a PUT or a completed multipart upload visible all at once, which gives atomic
    writes. Streams are spooled to a local temp file first: the size limit is enforced before
    anything reaches the bucket, and boto3 then uploads it (multipart when large).
    """

    # Operations move whole recordings, so reads get time; /readyz uses the short probe client.
    _DATA_TIMEOUT_S = 60
    _PROBE_TIMEOUT_S = 3

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
        create_bucket: bool = False,
    ) -> None:
        import boto3
        from botocore.config import Config

        if not bucket:
            raise ValueError("S3 storage needs a bucket name")
        if (access_key_id is None) != (secret_access_key is None):
            raise ValueError("give both the S3 access key id and the secret access key, or neither")
        prefix = prefix.strip("/")
        self.bucket = bucket
        self.region = region
        self.prefix = validate_key(prefix) if prefix else ""
        self.create_bucket = create_bucket

        # MinIO and Ceph usually serve one host name without per-bucket DNS: path style.
        s3_options = {"addressing_style": "path"} if endpoint_url else {}
        # Without explicit keys boto3's usual chain applies (AWS_* variables, instance role).
        session = boto3.session.Session(
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name=region
        )

        def client(timeout_s: float, attempts: int):
            config = Config(
                connect_timeout=timeout_s,
                read_timeout=timeout_s,
                retries={"max_attempts": attempts, "mode": "standard"},
                s3=s3_options,
            )
            return session.client("s3", endpoint_url=endpoint_url, config=config)

        self._client = client(self._DATA_TIMEOUT_S, attempts=3)
        self._probe = client(self._PROBE_TIMEOUT_S, attempts=1)

    def _object_key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def save_stream(self, key: str, chunks: Iterable[bytes], max_bytes: int | None) -> StoredObject:
        object_key = self._object_key(key)
        with tempfile.TemporaryFile(prefix="swescribe-upload-") as spool:
            size, sha256 = _copy_limited(chunks, spool, max_bytes)
            spool.seek(0)
            with _translate_errors(key):
                # Metadata lets anyone holding the object verify it without the job record.
                self._client.upload_fileobj(spool, self.bucket, object_key, ExtraArgs={"Metadata": {"sha256": sha256}})
        return StoredObject(key=key, size_bytes=size, sha256=sha256)

    def save_bytes(self, key: str, data: bytes) -> StoredObject:
        object_key = self._object_key(key)
        sha256 = hashlib.sha256(data).hexdigest()
        with _translate_errors(key):
            self._client.put_object(Bucket=self.bucket, Key=object_key, Body=data, Metadata={"sha256": sha256})
        return StoredObject(key=key, size_bytes=len(data), sha256=sha256)

    def read_bytes(self, key: str) -> bytes:
        object_key = self._object_key(key)
        with _translate_errors(key):
            return self._client.get_object(Bucket=self.bucket, Key=object_key)["Body"].read()

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        object_key = self._object_key(key)
        # Keep the extension: some decoders use it as a format hint.
        suffix = PurePosixPath(key).suffix
        fd, tmp_name = tempfile.mkstemp(prefix="swescribe-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as out, _translate_errors(key):
                self._client.download_fileobj(self.bucket, object_key, out)
            yield Path(tmp_name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)

    def delete(self, key: str) -> None:
        # S3 answers a delete of a missing key with success, which is what a re-run needs.
        with _translate_errors(key):
            self._client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def delete_prefix(self, prefix: str) -> int:
        # The trailing "/" keeps "jobs/1" from also matching "jobs/10/...".
        list_prefix = self._object_key(prefix) + "/"
        count = 0
        with _translate_errors(prefix):
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=list_prefix)
            for page in pages:
                objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if not objects:
                    continue
                # A page holds at most 1000 keys, which is also the delete_objects limit.
                response = self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
                if response.get("Errors"):
                    first = response["Errors"][0]
                    raise StorageUnavailable(f"could not delete {first.get('Key')}: {first.get('Message')}")
                count += len(objects)
        logger.debug("deleted %d objects under s3://%s/%s", count, self.bucket, list_prefix)
        return count

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._probe.head_bucket(Bucket=self.bucket)
            return
        except ClientError as e:
            if not (self.create_bucket and _is_not_found(e)):
                raise StorageUnavailable(f"S3 bucket {self.bucket!r} is not usable: {e}") from e
        except BotoCoreError as e:
            raise StorageUnavailable(f"S3 endpoint for bucket {self.bucket!r} is unreachable: {e}") from e
        self._create_bucket()

    def _create_bucket(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        # us-east-1 is the one region that refuses an explicit LocationConstraint.
        options = {}
        if self.region != "us-east-1":
            options = {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        try:
            self._probe.create_bucket(Bucket=self.bucket, **options)
        except ClientError as e:
            # Another process creating it at the same moment is success too.
            if e.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise StorageUnavailable(f"could not create S3 bucket {self.bucket!r}: {e}") from e
        except BotoCoreError as e:
            raise StorageUnavailable(f"could not create S3 bucket {self.bucket!r}: {e}") from e
        logger.info("created S3 bucket %s", self.bucket)


def _is_not_found(error: Exception) -> bool:
    code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound")


@contextlib.contextmanager
def _translate_errors(key: str) -> Iterator[None]:
    """botocore errors -> ObjectNotFound / StorageUnavailable, so callers never import botocore."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        # A missing bucket is a broken deployment, not a missing object.
        if _is_not_found(e) and code != "NoSuchBucket":
            raise ObjectNotFound(key) from e
        raise StorageUnavailable(f"S3 request for {key!r} failed: {e}") from e
    except BotoCoreError as e:
        raise StorageUnavailable(f"S3 request for {key!r} failed: {e}") from e


def storage_from_settings(settings: Settings) -> Storage:
    """The backend the operator configured (SWESCRIBE_STORAGE and friends)."""
    if settings.storage == "local":
        return LocalStorage(settings.storage_root)
    if not settings.s3_bucket:
        raise ValueError("SWESCRIBE_STORAGE=s3 needs SWESCRIBE_S3_BUCKET")
    secret = settings.s3_secret_access_key
    return S3Storage(
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret is not None else None,
        prefix=settings.s3_prefix,
        create_bucket=settings.s3_create_bucket,
    )
