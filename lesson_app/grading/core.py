"""The vocabulary of the grader: exercises, their checks, and check results."""

from __future__ import annotations

import ctypes
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lesson_app.grading.harness import Site

BATCH_ENV = "LESSON_GRADING_BATCH"  # set where the grader runs notebooks: their own check() cells stand aside
DEFAULT_TIME_LIMIT = 10.0  # seconds: a hang costs this much; a busy machine still gets its answer


class CheckFailed(AssertionError):
    """A check's verdict: what was expected and what arrived."""


class StudentRaised(Exception):
    """The student's code raised, in a process of its own; the message is ``"Type: message"``."""


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


class Submission(ABC):
    """What checks may ask of a student's notebook, wherever it runs.

    Checks never touch the student's objects: they call functions with JSON-able
    arguments and get JSON-able results back, read JSON-able values, learn what
    kind of object a name holds, and reach the apps the notebook's code builds
    over HTTP. In the student's own kernel that is :class:`LocalSubmission`; in
    the grader, the same requests cross into a sandboxed process.
    """

    @abstractmethod
    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``name(*args, **kwargs)``; the result as JSON-able data (see ``lesson_app.grading.values``)."""

    @abstractmethod
    def kind(self, name: str) -> str:
        """What ``name`` holds: one of ``KINDS``; ``CheckFailed`` if it is not defined."""

    @abstractmethod
    def value(self, name: str) -> Any:
        """The JSON-able value of ``name`` (a string of JavaScript, say)."""

    @abstractmethod
    def serve(self, fixture: str, **params: Any) -> AbstractContextManager["Site"]:
        """Serve the app that ``lesson_app.grading.fixtures`` builds from the notebook's names; yield its ``Site``."""

    def function(self, name: str) -> str:
        """Require ``name`` to be callable; return its kind."""
        kind = self.kind(name)
        if kind not in CALLABLE_KINDS:
            raise CheckFailed(f"`{name}` should be a function, got {kind}")
        return kind


KINDS = ("asyncgenfunction", "coroutinefunction", "function", "class", "other")
CALLABLE_KINDS = ("asyncgenfunction", "coroutinefunction", "function")


def not_defined(name: str) -> CheckFailed:
    return CheckFailed(f"`{name}` is not defined: run the cell that defines it (or restore it if it was deleted)")


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
    hidden_by_default: bool = False

    def check(
        self, name: str, *, hidden: bool | None = None, points: float = 1.0, time_limit: float = DEFAULT_TIME_LIMIT
    ) -> Callable[[CheckFunction], CheckFunction]:
        """Decorator: register a check function under a name the student reads."""

        def register(function: CheckFunction) -> CheckFunction:
            is_hidden = self.hidden_by_default if hidden is None else hidden
            self.checks.append(Check(self.id, name, function, points, is_hidden, time_limit))
            return function

        return register

    @classmethod
    def hidden_part(cls, public: "Exercise") -> "Exercise":
        """An empty exercise for ``public``'s hidden checks: every check registered on it is hidden."""
        return cls(public.id, public.notebook, public.title, hidden_by_default=True)

    def with_hidden(self, hidden: "Exercise") -> "Exercise":
        """This exercise's checks followed by ``hidden``'s."""
        return Exercise(self.id, self.notebook, self.title, [*self.checks, *hidden.checks])

    @property
    def max_score(self) -> float:
        return sum(check.points for check in self.checks)


def find_exercise(exercises: Mapping[str, "Exercise"], exercise_id: str) -> "Exercise":
    """``exercises[exercise_id]``, or a ``ValueError`` that names the known ids."""
    try:
        return exercises[exercise_id]
    except KeyError:
        raise ValueError(f"unknown exercise {exercise_id!r}; known: {', '.join(sorted(exercises))}") from None


def run_check(check: Check, submission: Submission, on_abandon: Callable[[], None] | None = None) -> CheckResult:
    """Run one check on a daemon thread; past its time limit it is abandoned (``on_abandon`` runs), never awaited."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            check.run(submission)
            outcome["error"] = None
        except BaseException as exc:  # the student's code may raise anything
            outcome["error"] = exc
            outcome["server_errors"] = submission_errors(submission)

    started = time.monotonic()
    thread = threading.Thread(target=target, name=f"check:{check.exercise}:{check.name}", daemon=True)
    thread.start()
    thread.join(check.time_limit)
    seconds = time.monotonic() - started
    if thread.is_alive():
        _interrupt(thread)
        if on_abandon is not None:
            on_abandon()
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
    elif isinstance(error, StudentRaised):
        message = f"your code raised {error}"
    else:
        message = f"your code raised {type(error).__name__}: {error}"
    raised = outcome.get("server_errors") or []
    if raised:
        message += f" [your code raised on the server: {'; '.join(dict.fromkeys(raised))[:400]}]"
    return _result(check, False, message, seconds)


def submission_errors(submission: Submission) -> list[str]:
    """What the student's code raised inside the servers the check started, if the submission can tell."""
    errors = getattr(submission, "server_errors", None)
    try:
        return list(errors()) if callable(errors) else []
    except Exception:  # noqa: BLE001 - a sandbox that is gone has nothing more to say
        return []


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
