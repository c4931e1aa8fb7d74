"""Today's date, in one place: every "is this text still in force?" asks here.

CADREBOT_TODAY (an ISO date) fixes the day, so tests, benchmarks and an admin
replaying a past question all see the same law; without it, the system date.
"""

from __future__ import annotations

import os
from datetime import date

CLOCK_ENV = "CADREBOT_TODAY"


def today() -> date:
    value = os.environ.get(CLOCK_ENV, "").strip()
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return date.today()
