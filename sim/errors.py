"""Errors users see. A ConfigError is printed by the CLI without a traceback (exit status 2)."""
from __future__ import annotations

import difflib
from typing import Iterable


MAX_PROBLEM_CHARS = 400  # one problem line, hostile values included
MAX_PROBLEMS = 50


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit - 24]}... ({len(text)} chars)"


class ConfigError(Exception):
    """One or more problems in a user-supplied file (hardware config, model, recipe, sweep spec).

    Each problem names the key path, what was expected and what was found.
    """

    def __init__(self, file: str, problems: Iterable[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.file = _clip(str(file), 300)
        problems = [_clip(str(p), MAX_PROBLEM_CHARS) for p in problems]
        if len(problems) > MAX_PROBLEMS:  # a hostile file can have 10^5 bad keys; the first ones say enough
            problems = problems[:MAX_PROBLEMS] + [f"... and {len(problems) - MAX_PROBLEMS} more problems"]
        self.problems = problems
        if len(self.problems) == 1:
            msg = f"{self.file}: {self.problems[0]}"
        else:
            lines = "\n".join(f"  {p}" for p in self.problems)
            msg = f"{self.file}: {len(self.problems)} problems\n{lines}"
        super().__init__(msg)

    def __reduce__(self):  # picklable: a worker process's error reaches the parent intact
        return (type(self), (self.file, self.problems))


class SimulationError(Exception):
    """A run that cannot proceed for a reason that is not a bad input file (e.g. a layer that
    does not fit any buffer)."""


def did_you_mean(key: str, choices: Iterable[str]) -> str:
    """Suffix like " ; did you mean 'x'?" when a close match exists, else ""."""
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == key.lower()]
    return f"; did you mean '{close[0]}'?" if close else ""
