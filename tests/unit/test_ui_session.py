"""The screens' cookie signer: one secret per deployment, shared by every API process."""

from __future__ import annotations

import time
from pathlib import Path

from services.api.ui.session import Signer, UiSession
from shared.core.settings import Settings


def test_development_generates_the_session_secret_once_into_the_data_dir(tmp_path: Path) -> None:
    first = Signer(Settings(data_dir=tmp_path))
    again = Signer(Settings(data_dir=tmp_path))  # a second API process, or after a restart
    assert (tmp_path / "session.key").stat().st_mode & 0o777 == 0o600
    cookie = first.dumps(UiSession.anonymous())
    assert again.loads(cookie, time.time()) is not None
    elsewhere = Signer(Settings(data_dir=tmp_path / "other"))
    assert elsewhere.loads(cookie, time.time()) is None


def test_a_configured_secret_signs_the_same_in_every_process(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, session_secret="s" * 32)
    cookie = Signer(settings).dumps(UiSession.anonymous())
    assert Signer(settings.model_copy()).loads(cookie, time.time()) is not None
    assert not (tmp_path / "session.key").exists()
