"""The vocabulary of the grader: exercises, their checks, and check results."""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_TIME_LIMIT = 5.0


class CheckFailed(AssertionError):
    """A check's verdict: what was expected and what arrived."""


@dataclass(frozen=True)
class CheckResult:
    exercise: str
    name: str
    passed: bool
    score: float
    max_score: float
    hidden: bool
    message: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CheckResult":
        return cls(**{key: data[key] for key in cls.__dataclass_fields__})


class Submission:
    """The names a student's notebook defined: what checks call."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace

    def get(self, name: str) -> Any:
        if name not in self.namespace:
            raise CheckFailed(
                f"`{name}` is not defined: run the cell that defines it (or restore it if it was deleted)"
            )
        return self.namespace[name]

    def function(self, name: str) -> Callable[..., Any]:
        value = self.get(name)
        if not callable(value):
            raise CheckFailed(f"`{name}` should be a function, got {type(value).__name__}")
        return value


CheckFunction = Callable[[Submission], None]


@dataclass(frozen=True)
class Check:
    exercise: str
    name: str
    run: CheckFunction
    points: float = 1.0
    hidden: bool = False
    time_limit: float = DEFAULT_TIME_LIMIT


@dataclass
class Exercise:
    """One notebook's checks, in the order they run."""

    id: str
    notebook: str
    title: str
    checks: list[Check] = field(default_factory=list)

    def check(
        self, name: str, *, hidden: bool = False, points: float = 1.0, time_limit: float = DEFAULT_TIME_LIMIT
    ) -> Callable[[CheckFunction], CheckFunction]:
        """Decorator: register a check function under a name the student reads."""

        def register(function: CheckFunction) -> CheckFunction:
            self.checks.append(Check(self.id, name, function, points, hidden, time_limit))
            return function

        return register

    @property
    def max_score(self) -> float:
        return sum(check.points for check in self.checks)


def run_check(check: Check, submission: Submission) -> CheckResult:
    """Run one check on a daemon thread; past its time limit it is abandoned, never awaited."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        from lesson_app.grading.harness import server_errors

        try:
            check.run(submission)
            outcome["error"] = None
        except BaseException as exc:  # the student's code may raise anything
            outcome["error"] = exc
            outcome["server_errors"] = server_errors()

    started = time.monotonic()
    thread = threading.Thread(target=target, name=f"check:{check.exercise}:{check.name}", daemon=True)
    thread.start()
    thread.join(check.time_limit)
    seconds = time.monotonic() - started
    if thread.is_alive():
        _interrupt(thread)
        message = (
            f"no verdict within the {check.time_limit:g} s time limit: the code under test hangs or loops forever "
            "(if the notebook turns slow afterwards, restart its kernel)"
        )
        return _result(check, False, message, seconds)
    error = outcome.get("error")
    if error is None:
        return _result(check, True, "", seconds)
    if isinstance(error, CheckFailed):
        message = str(error)
    else:
        message = f"your code raised {type(error).__name__}: {error}"
    raised = outcome.get("server_errors") or []
    if raised:
        message += f" [your code raised on the server: {'; '.join(dict.fromkeys(raised))[:400]}]"
    return _result(check, False, message, seconds)


def _interrupt(thread: threading.Thread) -> None:
    """Ask an abandoned check's thread to stop at its next Python bytecode (a busy loop, say)."""
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(SystemExit))


def _result(check: Check, passed: bool, message: str, seconds: float) -> CheckResult:
    return CheckResult(
        exercise=check.exercise,
        name=check.name,
        passed=passed,
        score=check.points if passed else 0.0,
        max_score=check.points,
        hidden=check.hidden,
        message=message,
        seconds=round(seconds, 3),
    )
