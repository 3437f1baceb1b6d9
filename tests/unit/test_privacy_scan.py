"""The suite-wide privacy scan itself must be able to fail."""

from __future__ import annotations

import logging

from tests import privacy


def test_scan_finds_an_insured_number_in_a_log_line() -> None:
    handler = privacy.CaptureHandler()
    logger = logging.getLogger("handover.test-privacy")
    logger.addHandler(handler)
    privacy.INSURED_NUMBERS.add("9999000011")
    try:
        logger.warning("leaked %s", "9999000011")
        assert any("9999000011" in text for text in privacy.leaks())
    finally:
        logger.removeHandler(handler)
        privacy.CAPTURED[:] = [t for t in privacy.CAPTURED if "9999000011" not in t]
        privacy.INSURED_NUMBERS.discard("9999000011")
