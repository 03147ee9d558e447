"""The sans-IO protocol between the client's operations and the two clients that run them.

Every operation (an API call, a refresh, a listing) is a generator that does no I/O itself. It
yields instructions and receives the outcome of each at the ``yield``:

- :class:`Send`: send this request; the outcome is the ``httpx2.Response``, or the
  ``httpx2.TransportError`` raised while sending it, which the operation gets raised at the yield;
- :class:`Sleep`: wait this many seconds; the outcome is None;
- :class:`Exclusive`: run this nested operation while holding the client's lock; the outcome is
  its result, or the :class:`~citizenry.client.errors.CitizenryError` it raised;
- :class:`Emit`: hand this item to the caller of a listing; :class:`Stepper` collects it.

:class:`~citizenry.client.Client` carries instructions out with ``httpx2.Client`` and
``time.sleep``, :class:`~citizenry.client.AsyncClient` with ``httpx2.AsyncClient`` and
``anyio.sleep``. Retries, refreshes, error mapping and paging live only in the operations.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar, cast

import httpx2

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    request: httpx2.Request


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Exclusive:
    operation: Generator[Instruction, object, object]


@dataclass(frozen=True)
class Emit:
    item: Any


Instruction: TypeAlias = Send | Sleep | Exclusive | Emit
Operation: TypeAlias = Generator[Instruction, object, T]


def send(request: httpx2.Request) -> Operation[httpx2.Response]:
    """Send ``request`` and return its response; a transport error is raised here."""
    outcome = yield Send(request)
    if not isinstance(outcome, httpx2.Response):
        raise TypeError(f"a Send instruction expects a response, not {type(outcome).__name__}")
    return outcome


def sleep(seconds: float) -> Operation[None]:
    yield Sleep(seconds)


def exclusive(operation: Operation[T]) -> Operation[T]:
    """Run ``operation`` under the client's lock and return its result."""
    outcome = yield Exclusive(operation)
    return cast(T, outcome)


def emit(item: Any) -> Operation[None]:
    yield Emit(item)


class Stepper(Generic[T]):
    """Advance an operation from one instruction that needs I/O to the next.

    Emitted items are collected along the way, for the client to hand out with :meth:`drain`.
    An exception the operation raises propagates out of :meth:`advance`.
    """

    def __init__(self, operation: Operation[T]) -> None:
        self._operation = operation
        self._items: list[Any] = []
        self._instruction: Send | Sleep | Exclusive | None = None
        self._result: T | None = None
        self.done = False
        self.advance(None)

    @property
    def instruction(self) -> Send | Sleep | Exclusive:
        """The instruction the client must carry out next."""
        if self._instruction is None:
            raise RuntimeError("the operation has finished; read its result instead")
        return self._instruction

    @property
    def result(self) -> T:
        if not self.done:
            raise RuntimeError("the operation has not finished yet")
        return cast(T, self._result)

    def advance(self, outcome: object) -> None:
        """Resume the operation with ``outcome``, raising it there if it is an exception."""
        try:
            if isinstance(outcome, BaseException):
                instruction = self._operation.throw(outcome)
            else:
                instruction = self._operation.send(outcome)
            while isinstance(instruction, Emit):
                self._items.append(instruction.item)
                instruction = self._operation.send(None)
        except StopIteration as stop:
            self.done = True
            self._instruction = None
            self._result = stop.value
            return
        self._instruction = instruction

    def drain(self) -> list[Any]:
        """Return the items emitted since the last call, and forget them."""
        items, self._items = self._items, []
        return items
