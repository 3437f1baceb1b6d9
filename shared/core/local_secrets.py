"""Secrets a development machine generates once into its data directory (mode 0600).

Production never uses these: settings refuse to load there without the variable (see
``shared.core.settings``). In development the admin token, the webhook key and the session secret
are each made on first use and read back afterwards, so restarts and several API processes
(``uvicorn --workers 2``) share one value.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path


def generated_secret(data_dir: Path, name: str) -> str:
    """The secret in ``data_dir/name``, created with a random value if absent.

    The file appears whole or not at all (written beside it, then hard-linked into place), so a
    second process starting at the same moment reads the same value, never an empty file.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / name
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=f".{name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32))
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use that one
        finally:
            os.unlink(tmp)
    return path.read_text().strip()
