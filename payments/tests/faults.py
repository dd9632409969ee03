"""A gateway that fails on purpose, for the fault-injection tests.

`FaultyGateway` wraps a real backend (the simulated one in the matrix) and, for the methods
named in `faults`, fails the first call in one of these ways:

- `refused_before`: the request never reaches the gateway (connection refused): nothing is
  done there, and the caller gets no answer.
- `lost_after`: the gateway does it, and the answer is lost (a reset connection).
- `timeout`: the caller gives up at once; the gateway does it a little later, after the
  next request anyone makes (so an immediate look-up still sees nothing).

`down` names methods that stop answering altogether (every call gets no answer) after
answering the given number of calls, until the test clears it: a gateway that does a call
and then falls silent, so that the look-up right after fails too.

A fourth fault is ours, not the gateway's: `commit_lost`, where the gateway answers but the
transaction that records the outcome fails (a killed worker, a failed commit);
`lose_commit_once` arranges it.

`use_gateway` makes every module that took `get_gateway` use the given gateway;
`recover_later` runs the recovery job as it would once no answer can still be on its way.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import timedelta

from django.utils import timezone

from payments import backends, operations
from payments.gateway import GatewayError, RefundStatus
from payments.models import MoneyOperation, SimulatedOperation
from payments.simulated import SimulatedGateway

GATEWAY_FAULTS = ("refused_before", "lost_after", "timeout")
FAULTS = (*GATEWAY_FAULTS, "commit_lost")


def no_answer(detail: str = "read timed out (injected)") -> GatewayError:
    """What a call that gets no answer raises: it may or may not have happened."""
    return GatewayError("The payment service is not available right now.", definite=False, detail=detail)


class FaultyGateway:
    def __init__(self, inner, faults: dict[str, str] | None = None, *, down: dict[str, int] | None = None):
        self.inner = inner
        self.faults = dict(faults or {})
        self.down = dict(down or {})  # method -> calls it still answers before it falls silent
        self.name = inner.name
        self.late: list = []  # effects of timed-out calls, delivered after the next request
        self.calls: list[str] = []
        self._requests_since_timeout = 0

    def _deliver_late(self) -> None:
        if not self.late:
            return
        self._requests_since_timeout += 1
        if self._requests_since_timeout > 1:
            late, self.late = self.late, []
            for effect in late:
                effect()

    def __getattr__(self, method: str):
        real = getattr(self.inner, method)
        if not callable(real):
            return real

        def call(*args, **kwargs):
            self._deliver_late()
            self.calls.append(method)
            if method in self.down:
                if self.down[method] <= 0:
                    raise no_answer(f"{method}: no answer (injected)")
                self.down[method] -= 1
            fault = self.faults.pop(method, None)
            if fault == "refused_before":
                raise GatewayError("The payment service is not available right now.", definite=False,
                                   detail=f"{method}: connection refused (injected)")
            if fault == "lost_after":
                real(*args, **kwargs)
                raise GatewayError("The payment service is not available right now.", definite=False,
                                   detail=f"{method}: connection reset after the request (injected)")
            if fault == "timeout":
                self.late.append(lambda: real(*args, **kwargs))
                self._requests_since_timeout = 0
                raise GatewayError("The payment service is not available right now.", definite=False,
                                   detail=f"{method}: read timed out (injected)")
            return real(*args, **kwargs)

        return call


def use_gateway(monkeypatch, gateway) -> None:
    """Every project module that imported `get_gateway` gets this gateway instead."""
    original = backends.get_gateway
    for module in list(sys.modules.values()):
        if getattr(module, "get_gateway", None) is original:
            monkeypatch.setattr(module, "get_gateway", lambda: gateway)


def lose_commit_once(monkeypatch) -> list:
    """The next finishing transaction fails after the gateway answered (the outcome and its
    work are rolled back, the attempt stays started). Returns the list the failure is noted in."""
    real = operations.money_operation_finish
    lost = []

    def finish(*, operation, outcome):
        if not lost:
            lost.append(operation.idempotency_key)
            raise RuntimeError("the worker died before the outcome was committed (injected)")
        return real(operation=operation, outcome=outcome)

    monkeypatch.setattr(operations, "money_operation_finish", finish)
    return lost


def refunds_fail(monkeypatch) -> None:
    """From now on every refund the simulated gateway makes fails at the card's bank (a closed
    card account): it is answered, and listed, as failed."""
    real = SimulatedGateway.refund

    def refund(self, **kwargs):
        made = real(self, **kwargs)
        SimulatedOperation.objects.filter(idempotency_key=kwargs["idempotency_key"]).update(
            status_after=RefundStatus.FAILED)
        return dataclasses.replace(made, status=RefundStatus.FAILED)

    monkeypatch.setattr(SimulatedGateway, "refund", refund)


def recover_later(minutes: int = 1) -> dict[str, int]:
    """The recovery job, `minutes` after the latest attempt still started became old enough
    (RECOVER_AFTER) that no answer to it can still be on its way."""
    latest = MoneyOperation.objects.filter(state=MoneyOperation.State.STARTED).order_by("-started_at").first()
    start = max(timezone.now(), latest.started_at) if latest else timezone.now()
    return operations.money_recover(now=start + operations.RECOVER_AFTER + timedelta(minutes=minutes))
