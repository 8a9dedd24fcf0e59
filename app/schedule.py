"""When scheduled work runs: the schedule syntax and the sources ``docent scheduler`` syncs.

A schedule is one of:

- ``every N<unit>``: every N seconds (``s``), minutes (``m``), hours (``h``) or days
  (``d``), counted from the end of the last run (``every 30m``, ``every 6h``);
- ``hourly``: ``every 1h``;
- ``daily HH:MM``: once a day at that time of the machine's clock (``daily 02:00``).

Cron syntax is not offered: no maintained cron library is a dependency, and these three
cover what a site schedules a sync by. A run is due at the first schedule time after the
last run ended, so a scheduler that was down when runs fell due runs once at its start,
not once per missed time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.errors import DocentError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EVERY = re.compile(r"every\s+(\d+)\s*([smhd])")
_DAILY = re.compile(r"daily\s+(\d{1,2}):(\d{2})")
FORMS = "`every 30m` (s, m, h or d), `hourly` or `daily 02:00`"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ScheduleError(DocentError):
    """A schedule is not one Docent understands."""


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: a fixed interval, or a time of day."""

    text: str
    interval: timedelta | None = None
    at: time | None = None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """Read ``every 30m``, ``hourly`` or ``daily 02:00``.

        Raises:
            ScheduleError: Any other text, a zero interval or an impossible time.
        """
        spoken = " ".join(text.lower().split())
        if spoken == "hourly":
            return cls(text, interval=timedelta(hours=1))
        if every := _EVERY.fullmatch(spoken):
            seconds = int(every[1]) * _UNITS[every[2]]
            if seconds <= 0:
                raise ScheduleError(f"The schedule `{text}` never comes round.", hint=FORMS)
            return cls(text, interval=timedelta(seconds=seconds))
        if (daily := _DAILY.fullmatch(spoken)) and int(daily[1]) < 24 and int(daily[2]) < 60:
            return cls(text, at=time(int(daily[1]), int(daily[2])))
        raise ScheduleError(
            f"The schedule `{text}` is not one Docent reads.", hint=f"write it as {FORMS}"
        )

    def next_after(self, moment: datetime) -> datetime:
        """The first time this schedule falls due after ``moment`` (an aware datetime)."""
        if self.interval is not None:
            return moment + self.interval
        assert self.at is not None
        local = moment.astimezone()
        due = local.replace(hour=self.at.hour, minute=self.at.minute, second=0, microsecond=0)
        return due if due > local else due + timedelta(days=1)


class ScheduledSource(BaseModel):
    """One source of the ``sources`` setting: a folder or share, synced on a schedule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Its name in `docent status`, the Status page and the log.")
    path: str = Field(description="A local folder, or an SMB share `smb://server/share/folder`.")
    collection: str = Field("", description="The collection; default the `collection` setting.")
    schedule: str = Field(description=f"When it is synced: {FORMS}.")
    labels: tuple[str, ...] = Field((), description="Access labels, as `docent ingest --label`.")
    prune: bool = Field(False, description="Remove documents whose files are gone.")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"`{name}` is not a source name: use letters, digits, `.`, `_` and `-`"
            )
        return name

    @field_validator("path")
    @classmethod
    def _some_path(cls, path: str) -> str:
        if not path.strip():
            raise ValueError("a source needs the folder or smb:// share it syncs")
        return path

    @field_validator("schedule")
    @classmethod
    def _readable_schedule(cls, schedule: str) -> str:
        try:
            Schedule.parse(schedule)
        except ScheduleError as error:
            raise ValueError(f"{error.message} Write it as {FORMS}") from None
        return schedule

    def timetable(self) -> Schedule:
        """The parsed schedule."""
        return Schedule.parse(self.schedule)
