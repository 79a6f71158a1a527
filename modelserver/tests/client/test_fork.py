"""After fork the child builds its own engine, once, whatever the parent's threads were doing."""

from __future__ import annotations

import gc
import os
import select
import signal
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from modelserver.client import ModelClient
from modelserver.client import _client as client_module
from modelserver.client._engine import Engine
from tests.client.fake_server import FakeServer
from tests.conftest import wait_until

CHILD_TIMEOUT_S = 15.0
CALLERS = 8


class CountingLock:
    """A lock that counts acquire attempts, so a test can wait until every caller has reached it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = threading.Lock()
        self.attempts = 0

    def __enter__(self) -> bool:
        with self._count:
            self.attempts += 1
        return self._lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._lock.__exit__(*exc)


pytestmark = pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # multi-threaded fork


def in_child(body: Callable[[], str]) -> str:
    """Run `body` in a forked child; its result, or a failure if it hangs past CHILD_TIMEOUT_S."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read_fd)
            result = body()
            status = 0
        except BaseException as exc:
            result = f"child failed: {exc!r}"
        finally:
            os.write(write_fd, result.encode()[:4000])
            os._exit(status)
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], CHILD_TIMEOUT_S)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"the child hung for {CHILD_TIMEOUT_S:.0f} s")
        return os.read(read_fd, 4096).decode()
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


def test_the_child_gets_an_engine_while_a_parent_thread_holds_the_lock(server: FakeServer) -> None:
    with ModelClient(server.endpoint, timeout_ms=5_000) as client:
        client.predict("m", b"abc")  # the parent's engine exists
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with client._lock:
                held.set()
                release.wait()

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait()
        try:
            result = in_child(lambda: str(client.predict("m", b"abc", top_k=4).predictions[0].class_id))
        finally:
            release.set()
            holder.join()
        assert result == "4"
        client.predict("m", b"abc")  # and the parent's client is untouched


def test_concurrent_first_calls_in_the_child_build_one_engine(server: FakeServer) -> None:
    with ModelClient(server.endpoint, timeout_ms=5_000) as client:
        client.predict("m", b"abc")

        def child() -> str:
            built: list[Engine] = []
            lock = CountingLock()
            client._lock = lock  # after the at-fork reset: counts the callers that reach it

            class SlowEngine(Engine):
                def __init__(self, *args: Any, **kwargs: Any) -> None:
                    # Build only once every caller has reached the lock: all of them race this one.
                    wait_until(lambda: lock.attempts >= CALLERS, 10, "every caller at the lock")
                    super().__init__(*args, **kwargs)
                    built.append(self)

            setattr(client_module, "Engine", SlowEngine)  # noqa: B010  # the child only: no undo
            got: list[Engine] = []
            threads = [
                threading.Thread(target=lambda: got.append(client._get_engine())) for _ in range(CALLERS)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return f"{len(built)} built, {len({id(e) for e in got})} distinct"

        assert in_child(child) == "1 built, 1 distinct"


def test_a_client_can_still_be_garbage_collected() -> None:
    client = ModelClient("tcp://127.0.0.1:1")
    ref = weakref.ref(client)
    del client
    gc.collect()
    assert ref() is None
