"""Writing a set of files so that all of them appear or none does.

Every file is first written in full beside its target (a hidden temporary
name in the same folder, so on the same file system); only when all are
written are they renamed into place, one after the other. A failure while
writing (a full disk, a file-size limit, a read-only folder) removes the
temporary files and leaves every target as it was: no truncated file, no
mix of new and stale outputs. A process killed before the renames can leave
hidden temporary files (``.<name>.<random>.tmp<suffix>``), never a damaged
target.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Callable, Iterator, Mapping

#: ``writer(path)`` writes one whole file at ``path``
Writer = Callable[[Path], None]


#: what a failed set of writes leaves: every target as it was
_UNCHANGED = "; no output file was changed"


def write_together(writers: Mapping[str | os.PathLike, Writer]) -> list[Path]:
    """Write every target with its writer; all targets change or none does.

    Parameters
    ----------
    writers : target path -> a function that writes the file's whole content
        at the path it is given (a temporary path beside the target)

    Returns
    -------
    The targets, in the order given.

    Raises
    ------
    OSError
        A writer failed (or a temporary file could not be made); the message
        names the target, and no target has changed.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for target, writer in writers.items():
            target = Path(target)
            temp = _temporary_beside(target)
            staged.append((temp, target))
            try:
                writer(temp)
            except OSError as exc:
                # whatever file the writer's error names, it was writing this target
                raise _renamed(exc, target) from exc
    except BaseException:
        for temp, _ in staged:
            with suppress(OSError):   # a temporary file that could not even be made
                temp.unlink(missing_ok=True)
        raise
    return _rename_all(staged)


@contextmanager
def staged_directory(directory: str | os.PathLike) -> Iterator[Path]:
    """A fresh hidden folder inside ``directory`` whose files move into ``directory`` together.

    Write the whole set of files into the yielded folder; when the block
    ends without an error they are renamed into ``directory`` (replacing
    files of the same names), else they are deleted and ``directory`` is
    left as it was. Errors naming a file in the staging folder name its
    target in ``directory`` instead.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / f".gpunep-staging-{secrets.token_hex(6)}"
    staging.mkdir()
    try:
        try:
            yield staging
        except OSError as exc:
            if exc.filename is None or not Path(exc.filename).is_relative_to(staging):
                raise
            raise _renamed(exc, directory / Path(exc.filename).relative_to(staging)) from exc
        _rename_all([(path, directory / path.name) for path in sorted(staging.iterdir())])
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def naming(path: str | os.PathLike) -> Iterator[None]:
    """Make an ``OSError`` without a file name, raised inside the block, name ``path``.

    Writes that fail on a full disk or under a file-size limit raise an
    ``OSError`` that names no file; wrap the writing of one file in this.
    """
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


def _renamed(exc: OSError, target: Path) -> OSError:
    """``exc`` naming ``target`` and saying that no target changed (same errno, so same class)."""
    message = exc.strerror or str(exc)
    if not message.endswith(_UNCHANGED):
        message += _UNCHANGED
    if exc.errno is None:
        return OSError(f"{target}: {message}")
    return OSError(exc.errno, message, str(target))


def _temporary_beside(target: Path) -> Path:
    # keep the suffix: writers such as matplotlib's savefig choose the format by it
    return target.with_name(f".{target.stem}.{secrets.token_hex(6)}.tmp{target.suffix}")


def _rename_all(pairs: list[tuple[Path, Path]]) -> list[Path]:
    """Rename each written file onto its target (keeping an existing target's mode)."""
    for temp, target in pairs:
        if target.exists():
            os.chmod(temp, stat.S_IMODE(target.stat().st_mode))
    for temp, target in pairs:
        os.replace(temp, target)
    return [target for _, target in pairs]
