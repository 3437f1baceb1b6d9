"""Hypothesis budgets: `fast` for a developer's `make test`, `ci` (more examples) under CI=true.

HYPOTHESIS_PROFILE names the profile outright (`fast`, `ci`); otherwise CI=true picks `ci`.
Neither profile has a deadline: on a shared two-core machine a slow example is load, not a bug.
A property that needs more (or fewer) examples than its peers asks for ``scaled(n)``, n being
its budget under Hypothesis's own default of 100, so it keeps its share in every profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

DEFAULT_EXAMPLES = 100  # Hypothesis's own default budget, the unit of ``scaled``

# Generation can be slow under load too: that health check would only report the machine.
NOT_A_BUG = [HealthCheck.too_slow]
settings.register_profile("fast", max_examples=25, deadline=None, suppress_health_check=NOT_A_BUG)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=NOT_A_BUG,
)


def chosen_profile() -> str:
    """The profile this run uses: HYPOTHESIS_PROFILE if set, else `ci` under CI=true."""
    named = os.environ.get("HYPOTHESIS_PROFILE")
    if named:
        return named
    return "ci" if os.environ.get("CI", "").lower() == "true" else "fast"


def scaled(examples: int) -> int:
    """``examples`` (a budget under Hypothesis's default of 100) in the active profile's units."""
    return max(1, examples * settings().max_examples // DEFAULT_EXAMPLES)


settings.load_profile(chosen_profile())
