"""Claims: a recording taken from the inbox lives in DIR/.processing/<claim id>/ with a state
record until its outcome is in place. Every step writes the record atomically before or after
acting, so a process killed at any point resumes from the record without losing the file or
handling it twice:

    1. state.json {name}            then the recording is renamed in from the inbox
    2. state.json + sha256, job_id  then the audio is stored and the job created (deduplicated
                                    by sha256 through the job's idempotency key)
    3. state.json + enqueued        after the task is sent (a resend after a crash is harmless:
                                    the task is idempotent)
    4. state.json + plan            the outbox/done/failed names chosen, then the files written
                                    and the recording moved; then the claim folder is removed
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from workers.ingest.layout import FolderLayout
from workers.ingest.names import split_name
from workers.store.db import new_id
from workers.transcript.files import is_temporary, write_atomically

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


@dataclass
class Claim:
    folder: Path  # DIR/.processing/<id>
    state: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.folder.name

    @property
    def name(self) -> str:
        """The recording's name in the inbox."""
        return self.state["name"]

    @property
    def audio(self) -> Path:
        return self.folder / self.state["audio"]

    def save(self) -> None:
        # ensure_ascii keeps names with undecodable bytes (surrogates) representable in JSON.
        write_atomically(self.folder / STATE_FILE, json.dumps(self.state, ensure_ascii=True, indent=1).encode())

    def update(self, **values) -> None:
        self.state.update(values)
        self.save()

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def claim_file(layout: FolderLayout, name: str) -> Claim:
    """Take inbox/<name> into a new claim; FileNotFoundError if it vanished meanwhile (the claim
    folder is then removed again)."""
    folder = layout.processing / new_id()
    folder.mkdir()
    _stem, suffix = split_name(name)
    # The decoder may use the extension as a format hint; anything odd is left off.
    claim = Claim(
        folder,
        {
            "name": name,
            "audio": "audio" + (suffix.lower() if _SAFE_SUFFIX.match(suffix) else ""),
            "claimed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    claim.save()
    try:
        os.rename(layout.inbox / name, claim.audio)
    except FileNotFoundError:
        claim.remove()
        raise
    return claim


def load_claims(layout: FolderLayout) -> list[Claim]:
    """Every claim left by an earlier run, oldest first. Claims whose recording never arrived
    (killed between steps 1's record and its rename) are removed: the file is still in the inbox."""
    claims = []
    for folder in sorted(layout.processing.iterdir()):
        if not folder.is_dir() or folder.is_symlink():
            continue
        state_path = folder / STATE_FILE
        try:
            state = json.loads(state_path.read_text())
        except FileNotFoundError:
            state = None
        except (OSError, ValueError) as e:
            logger.error("%s: unreadable state record, left alone: %s", state_path, e)
            continue
        if state is None:
            # Killed before the first state record was in place (at most its temporary was
            # written): the recording is still in the inbox, so the claim is simply gone.
            if all(is_temporary(p) for p in folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)
            else:
                logger.error("%s: a claim without a state record, left alone", folder)
            continue
        claim = Claim(folder, state)
        if "plan" not in state and not os.path.lexists(claim.audio):
            claim.remove()
            continue
        claims.append(claim)
    claims.sort(key=lambda c: c.state.get("claimed_at", ""))
    return claims
