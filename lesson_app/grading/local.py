"""A submission in the current process: the names a notebook defined, in its own kernel.

This is what ``check("exNN")`` uses for feedback in the student's notebook, and
what the grader's sandbox uses to answer requests about the notebook it ran.
Grades never come from here: the grader asks across a process boundary.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lesson_app.grading.core import CheckFailed, Submission, not_defined
from lesson_app.grading.harness import Site, served, server_errors
from lesson_app.grading.values import decode, encode


class Names:
    """Read access to a notebook's namespace, with the error messages a student can act on."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace

    def get(self, name: str) -> Any:
        if name not in self.namespace:
            raise not_defined(name)
        return self.namespace[name]

    def function(self, name: str) -> Any:
        value = self.get(name)
        if not callable(value):
            raise CheckFailed(f"`{name}` should be a function, got {type(value).__name__}")
        return value

    def instance(self, name: str, kind: type) -> Any:
        value = self.get(name)
        if not isinstance(value, kind):
            raise CheckFailed(f"`{name}` should be a {kind.__module__.split('.')[0]}.{kind.__name__}, got {type(value).__name__}")
        return value


def kind_of(value: Any) -> str:
    if inspect.isasyncgenfunction(value):
        return "asyncgenfunction"
    if inspect.iscoroutinefunction(value):
        return "coroutinefunction"
    if inspect.isclass(value):
        return "class"
    if callable(value):
        return "function"
    return "other"


class LocalSubmission(Submission):
    """Answers checks from a namespace in this process."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.names = Names(namespace)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        function = self.names.function(name)
        return decode(encode(function(*args, **kwargs)))

    def kind(self, name: str) -> str:
        return kind_of(self.names.get(name))

    def value(self, name: str) -> Any:
        return decode(encode(self.names.get(name)))

    @contextmanager
    def serve(self, fixture: str, **params: Any) -> Iterator[Site]:
        from lesson_app.grading.fixtures import build

        app = build(fixture, self.names, params)
        with served(app) as url:
            yield Site(url)

    def server_errors(self) -> list[str]:
        return server_errors()
