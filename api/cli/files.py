"""Writing output files so that a failure never leaves half of one where the last good one was."""

from __future__ import annotations

import os
import tempfile


def write_atomically(path: str | os.PathLike[str], text: str) -> None:
    """Write the whole file or nothing (a temporary file beside it, renamed into place); folders are created."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".planner-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as open() would create it; mkstemp makes it private
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
