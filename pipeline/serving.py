"""Run a local service (`make airflow`, `make bi`) in the foreground until Ctrl-C or SIGTERM, then stop it cleanly."""

from __future__ import annotations

import signal
from collections.abc import Callable
from subprocess import Popen
from typing import Protocol


class Service(Protocol):
    process: Popen

    def wait_until_up(self) -> None: ...

    def stop(self) -> bool: ...


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C (also from a shell that ignores SIGINT in background jobs) and SIGTERM raise KeyboardInterrupt, so a
    service being started or served is stopped, not orphaned (it runs in its own session)."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def serve_until_interrupted(service: Service, name: str, announce: Callable[[], None], stop_limit: str) -> int:
    """Wait until `service` is up, `announce()` its address and logins, serve until Ctrl-C or SIGTERM, stop it, and
    say whether it stopped in time."""
    stop_on_signals()
    try:
        service.wait_until_up()
        announce()
        service.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        clean = service.stop()
        print(f"{name} stopped" + ("" if clean else f" (killed: it did not stop within {stop_limit})"))
    return 0
