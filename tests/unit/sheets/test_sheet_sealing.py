"""Sheets are sealed with the operator's key; a rotation keeps every sheet readable."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from shared.core.settings import Settings
from shared.sheets.sealing import SheetKeyMissing, reseal, seal, unseal

DOCUMENT = {"kind": "admission_info_sheet", "version": 1, "items": {"person": {"name": "例 太郎"}}}


def _settings(key: str | None, previous: str | None = None, **extra: object) -> Settings:
    return Settings(
        sheet_key=None if key is None else SecretStr(key),
        sheet_previous_keys=None if previous is None else SecretStr(previous),
        **extra,  # type: ignore[arg-type]
    )


def test_a_sealed_sheet_holds_no_text_in_clear_and_opens_with_its_key() -> None:
    token = seal(_settings("key-one-0123456789"), DOCUMENT)
    assert "例" not in token
    assert "person" not in token
    assert unseal(_settings("key-one-0123456789"), token) == DOCUMENT


def test_after_a_rotation_old_sheets_open_and_rekeyed_ones_need_only_the_new_key() -> None:
    old = seal(_settings("key-one-0123456789"), DOCUMENT)
    rotating = _settings("key-two-0123456789", "key-one-0123456789")
    assert unseal(rotating, old) == DOCUMENT
    rekeyed = reseal(rotating, old)
    assert unseal(_settings("key-two-0123456789"), rekeyed) == DOCUMENT
    with pytest.raises(SheetKeyMissing, match="does not decrypt"):
        unseal(_settings("key-two-0123456789"), old)


def test_production_refuses_to_start_without_a_key_and_never_generates_one(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="HANDOVER_SHEET_KEY must be set"):
        _settings(
            None,
            env="production",
            session_secret=SecretStr("s" * 32),
            webhook_key=SecretStr("w" * 32),
            data_dir=tmp_path,
        )
    # A production Settings built without validation still refuses to seal rather than generate.
    unchecked = Settings().model_copy(update={"env": "production", "data_dir": tmp_path})
    with pytest.raises(SheetKeyMissing, match="HANDOVER_SHEET_KEY"):
        seal(unchecked, DOCUMENT)
    assert list(tmp_path.iterdir()) == []


def test_development_generates_the_key_once_into_the_data_directory(tmp_path: Path) -> None:
    token = seal(_settings(None, data_dir=tmp_path), DOCUMENT)
    assert (tmp_path / "sheet.key").exists()
    assert unseal(_settings(None, data_dir=tmp_path), token) == DOCUMENT
