"""Which folder is a newsflow lake, and where its state lives.

``newsflow-lake.json`` marks a folder as a lake newsflow created, with its format version
and its state's location; a run refuses a folder with other files, and a state location
other than the recorded one unless told to move it. A state folder serves one lake.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

from apache_beam.io.filesystems import FileSystems

from schemas.layout import LakeLayout, absolute, join_path
from transforms.lake.commit import run_of
from transforms.lake.files import files_under, match, read_json, write_json_atomic
from transforms.lake.lock import LOCK_FILE, RunLock

_LOGGER = logging.getLogger(__name__)

LAKE_FORMAT = "newsflow-lake"

LAKE_VERSION = 1


class LakeError(ValueError):
    """A folder newsflow must not write to as given; the message says why and what to do."""


def claim_state(layout: LakeLayout) -> None:
    """Tie a state folder to one lake: a second lake sharing it would delete its index.

    Raises ``LakeError`` when the state already belongs to another lake, or when it is a
    folder with files that newsflow did not write.
    """
    lake = absolute(layout.output)
    owner = read_json(layout.owner)
    if owner is None:
        if _hasfiles_under(layout.state, ignore=(os.path.basename(layout.lock),)):
            raise LakeError(
                f"--state {layout.state} holds files that newsflow did not write: give a new or empty folder"
            )
        write_json_atomic(layout.owner, {"output": lake})
    elif owner.get("output") != lake:
        raise LakeError(
            f"state {layout.state} belongs to the lake {owner.get('output')}, not {lake}:"
            " give each lake its own --state"
        )


def _hasfiles_under(folder: str, ignore: tuple[str, ...] = ()) -> bool:
    if "://" not in folder:
        try:
            return any(name not in ignore for name in os.listdir(folder))
        except FileNotFoundError:
            return False
    found = match(join_path(folder, "**"), limit=len(ignore) + 1)
    return any(os.path.basename(m.path) not in ignore for m in found)


def is_legacy_lake(layout: LakeLayout) -> bool:
    """A lake written before the marker existed: its run records or its state's owner say so."""
    owner = read_json(layout.owner)
    if owner is not None and owner.get("output") == absolute(layout.output):
        return True
    for path in files_under(layout.runs)[:5]:
        if path.endswith(".json"):
            try:
                record = read_json(path)
            except ValueError:
                return False
            if isinstance(record, dict) and "run_id" in record and "started_at" in record:
                return True
    return False


def open_lake(layout: LakeLayout, *, move_state: bool = False) -> dict:
    """The lake's marker, creating the lake if ``layout.output`` is new or empty.

    Refuses (``LakeError``) an output that is a file, a non-empty folder that is not a
    newsflow lake, and a state location other than the one the lake recorded (unless
    ``move_state``: the state is then moved there first).
    """
    output = layout.output
    if "://" not in output and os.path.exists(output) and not os.path.isdir(output):
        raise LakeError(f"--output {output} is a file, not a folder")
    try:
        marker = read_json(layout.marker)
    except ValueError as error:
        raise LakeError(f"{layout.marker} is not a readable lake marker ({error})") from None
    if marker is None:
        if _hasfiles_under(output):
            if not is_legacy_lake(layout):
                raise LakeError(
                    f"--output {output} is a folder with files and not a newsflow lake (it has no "
                    f"{os.path.basename(layout.marker)}): newsflow writes only into a new or empty folder, "
                    "or a lake it created"
                )
            _migrate_undated(layout)
        marker = {
            "format": LAKE_FORMAT,
            "lake_version": LAKE_VERSION,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "state": absolute(layout.state),
        }
        write_json_atomic(layout.marker, marker)
        return marker
    if not isinstance(marker, dict) or marker.get("format") != LAKE_FORMAT:
        raise LakeError(f"{layout.marker} is not a newsflow lake marker")
    recorded = marker.get("state")
    if recorded and recorded != absolute(layout.state):
        if not move_state:
            raise LakeError(
                f"the lake {output} keeps its state in {recorded}, not {absolute(layout.state)}: "
                f"run with --state {recorded}, or add --move_state to move the state there"
            )
        move_state_folder(recorded, layout.state)
        marker = marker | {"state": absolute(layout.state)}
        write_json_atomic(layout.marker, marker)
    return marker


def _migrate_undated(layout: LakeLayout) -> None:
    """Move an older lake's undated articles from Hive's null partition to ``date=unknown``."""
    from schemas.parquet import LEGACY_NULL_PARTITION, NULL_PARTITION

    old = join_path(layout.articles, f"date={LEGACY_NULL_PARTITION}")
    moved = 0
    for path in files_under(old):
        topic, _, name = path[len(old) :].strip("/").partition("/")
        if not topic.startswith("topic=") or "/" in name or run_of(name) is None:
            continue
        target = join_path(layout.articles, f"date={NULL_PARTITION}", topic, name)
        if "://" not in target:
            os.makedirs(os.path.dirname(target), exist_ok=True)
        FileSystems.rename([path], [target])
        moved += 1
    if moved:
        _LOGGER.warning("moved %d files of undated articles to date=%s", moved, NULL_PARTITION)


def move_state_folder(source: str, destination: str) -> int:
    """Move every file of a state folder under ``destination``, which must be new or empty.

    Files are copied first and deleted from ``source`` only once all are in place: a crash
    leaves both copies (the old one still recorded), never neither. Returns the files moved.
    """
    if _hasfiles_under(destination):
        raise LakeError(f"cannot move the state to {destination}: it is not empty")
    with RunLock(source, "move_state"):
        files = [path for path in files_under(source) if os.path.basename(path) != LOCK_FILE]
        base = source.rstrip("/")
        for path in files:
            target = join_path(destination, path[len(base) :].lstrip("/"))
            folder = target.rsplit("/", 1)[0]
            if "://" not in folder:
                os.makedirs(folder, exist_ok=True)
            FileSystems.copy([path], [target])
        FileSystems.delete(files)
    _LOGGER.warning("moved %d state files from %s to %s", len(files), source, destination)
    return len(files)
