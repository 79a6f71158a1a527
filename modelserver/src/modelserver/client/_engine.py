"""The client's I/O thread: owns the context and every socket of one process.

Calling threads put Calls in an inbox and wake the thread through a pipe; the thread sends each
to the connected server with the fewest outstanding requests, matches replies by id, retries once
on another server after OVERLOADED / UNAVAILABLE / a lost connection while the deadline allows,
and fails every call whose deadline passes. No call can hang: each ends in a reply or an error.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import zmq

from modelserver.client._endpoint import Call, Endpoint, SocketOptions
from modelserver.client._resolver import Resolver
from modelserver.client._types import (
    DeadlineExceeded,
    InternalError,
    ModelServerError,
    Overloaded,
    Unavailable,
)
from modelserver.protocol import ProtocolError, Status, decode_reply, encode_request

log = logging.getLogger(__name__)

RETRYABLE = (Status.OVERLOADED, Status.UNAVAILABLE)
_LOST = (zmq.EVENT_DISCONNECTED, zmq.EVENT_CLOSED)
MAX_ATTEMPTS = 2
MAX_POLL_MS = 100


def _check_sendable(frames: list[Any]) -> None:
    """Raise before the first frame goes out, not after: a half-sent message would be glued to
    the next one on the same socket."""
    for frame in frames:
        if not memoryview(frame).c_contiguous:
            raise BufferError("a payload frame is not a contiguous buffer")


class Engine:
    """One per process; see the module docstring."""

    def __init__(
        self,
        specs: Sequence[tuple[str, int]],
        *,
        resolve_interval_s: float,
        connect_timeout_s: float,
        max_outstanding: int,
        options: SocketOptions,
    ) -> None:
        self._options = options
        self._connect_timeout_s = connect_timeout_s
        self._max_outstanding = max_outstanding
        self._inbox: queue.SimpleQueue[Call | frozenset[str]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._context: zmq.Context[Any] = zmq.Context()
        self._endpoints: dict[str, Endpoint] = {}
        self._calls: dict[str, Call] = {}
        self._waiting: deque[Call] = deque()
        self._deadlines: list[tuple[float, int, str]] = []
        self._rotation = 0
        self._stop = threading.Event()
        # Held while a call is queued and while closing: a call is either queued before the stop
        # (and then failed by _shutdown) or refused, never left in an inbox nobody reads, and no
        # wake-up is written to the pipe after close() has closed it.
        self._closing = threading.Lock()
        self._stopped_because = "client is closed"
        self._poller_stale = True
        self._any_connected = threading.Event()
        self.outstanding = 0  # read by callers for back-pressure; written only on the I/O thread
        self._thread = threading.Thread(target=self._run, name="zinfer-client-io", daemon=True)
        self._thread.start()
        self._resolver = Resolver(specs, resolve_interval_s, self._on_addresses)
        self._resolver.start()

    # -- called from any thread ------------------------------------------------------------------

    def submit(self, call: Call) -> None:
        if self.outstanding >= self._max_outstanding:
            call.future.set_exception(
                Overloaded(f"{self.outstanding} requests outstanding in this process", 0.1)
            )
            return
        with self._closing:
            if self._stop.is_set():
                call.future.set_exception(Unavailable(self._stopped_because))
                return
            self._inbox.put(call)
            self._wake()

    def saturation_error(self, now: float) -> Overloaded | None:
        """Overloaded if every connected server is marked full (after OVERLOADED), else None.

        Also read from the callers' threads without a lock: a hint that lets a caller refuse work
        before it spends anything on it; the I/O thread decides again for calls sent anyway.
        """
        try:
            usable = [e for e in self._endpoints.values() if e.connected and not e.retiring]
        except RuntimeError:  # the I/O thread changed the dict meanwhile
            return None
        if not usable or not all(e.is_full(now) for e in usable):
            return None
        wait_s = min(e.full_until for e in usable) - now
        return Overloaded("every model server is at capacity; retry shortly", max(0.005, wait_s))

    def connected_addresses(self) -> list[str]:
        return [a for a, e in list(self._endpoints.items()) if e.connected and not e.retiring]

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait until at least one server is connected."""
        return self._any_connected.wait(timeout_s)

    def close(self) -> None:
        self._resolver.stop()
        with self._closing:
            self._stop.set()
            self._wake()
        self._thread.join()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _on_addresses(self, addresses: frozenset[str]) -> None:
        self._inbox.put(addresses)
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # a full pipe already holds wake-ups
            os.write(self._wake_w, b"\0")

    # -- the I/O thread --------------------------------------------------------------------------

    def _run(self) -> None:
        poller = zmq.Poller()
        try:
            while not self._stop.is_set():
                if self._poller_stale:
                    poller = self._build_poller()
                for item, _ in poller.poll(self._poll_timeout_ms()):
                    if item == self._wake_r:
                        self._drain_inbox()
                    else:
                        self._on_socket(item)
                self._expire(time.monotonic())
        except Exception:
            log.exception("model-server client I/O thread failed")
            self._stopped_because = "the client's I/O thread failed (see the log); make a new client"
        finally:
            self._shutdown()

    def _build_poller(self) -> zmq.Poller:
        poller = zmq.Poller()
        poller.register(self._wake_r, zmq.POLLIN)
        for endpoint in self._endpoints.values():
            poller.register(endpoint.socket, zmq.POLLIN)
            poller.register(endpoint.monitor, zmq.POLLIN)
        self._poller_stale = False
        return poller

    def _poll_timeout_ms(self) -> int:
        if not self._deadlines and not self._waiting:
            return MAX_POLL_MS
        nearest = self._deadlines[0][0] if self._deadlines else time.monotonic() + 1
        wait = (nearest - time.monotonic()) * 1000.0
        return max(0, min(MAX_POLL_MS, int(wait) + 1))

    def _drain_inbox(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, frozenset):
                self._set_addresses(item)
            else:
                self._calls[item.request.id] = item
                self.outstanding = len(self._calls)
                heapq.heappush(self._deadlines, (item.deadline, item.seq, item.request.id))
                self._dispatch(item, time.monotonic())

    def _set_addresses(self, addresses: frozenset[str]) -> None:
        for address in addresses - self._endpoints.keys():
            self._endpoints[address] = Endpoint(self._context, address, self._options)
            self._poller_stale = True
        for address, endpoint in self._endpoints.items():
            endpoint.retiring = address not in addresses  # finish its calls, take no new ones
        for endpoint in list(self._endpoints.values()):
            self._close_if_retired(endpoint)

    def _close_if_retired(self, endpoint: Endpoint) -> None:
        if endpoint.retiring and not endpoint.outstanding:
            endpoint.close()
            del self._endpoints[endpoint.address]
            self._poller_stale = True

    def _on_socket(self, item: Any) -> None:
        for endpoint in list(self._endpoints.values()):
            if item is endpoint.monitor:
                self._on_monitor(endpoint)
                return
            if item is endpoint.socket:
                self._on_replies(endpoint)
                return

    def _on_monitor(self, endpoint: Endpoint) -> None:
        was_connected = endpoint.connected
        events = endpoint.read_monitor()
        # Judge by the events, not by the state before and after: a disconnect and the next
        # handshake can arrive in one read (connected → connected), and the calls sent on the
        # dropped connection will never be answered (the new one has a new identity at the server).
        dropped = was_connected and any(code in _LOST for code in events)
        if any(e.connected for e in self._endpoints.values()):
            self._any_connected.set()
        else:
            self._any_connected.clear()
        now = time.monotonic()
        if dropped:
            log.warning(
                "lost model server %s with %d requests outstanding",
                endpoint.address,
                len(endpoint.outstanding),
            )
            lost, endpoint.outstanding = list(endpoint.outstanding.values()), {}
            for call in lost:
                self._retry_or_fail(
                    call, Unavailable(f"lost the connection to model server {endpoint.address}"), now
                )
        if endpoint.connected and (not was_connected or dropped):
            waiting, self._waiting = self._waiting, deque()
            for call in waiting:
                if call.request.id in self._calls:  # not failed meanwhile
                    self._dispatch(call, now)
        self._close_if_retired(endpoint)

    def _on_replies(self, endpoint: Endpoint) -> None:
        now = time.monotonic()
        while True:
            try:
                frames = endpoint.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            try:
                start = 1 if frames and len(frames[0]) == 0 else 0
                reply = decode_reply([frames[start].bytes, *(f.buffer for f in frames[start + 1 :])])
            except (ProtocolError, IndexError) as exc:
                log.error("malformed reply from %s: %s", endpoint.address, exc)
                continue
            call = endpoint.outstanding.pop(reply.id, None)
            if reply.status is Status.OVERLOADED:
                endpoint.mark_overloaded(now, float(reply.body.get("retry_after_ms", 0)) / 1000.0)
            if call is None:
                continue  # answered after its deadline: already failed
            if reply.status in RETRYABLE and self._can_retry(call, now):
                call.endpoint = None
                if self._dispatch(call, now, retry=True):
                    continue
                call = self._calls.get(reply.id, call)
            self._finish(call, reply=reply)
        self._close_if_retired(endpoint)

    # -- routing ---------------------------------------------------------------------------------

    def _can_retry(self, call: Call, now: float) -> bool:
        return call.pinned is None and call.attempts < MAX_ATTEMPTS and call.deadline > now

    def _pick(self, call: Call, retry: bool, now: float) -> Endpoint | None:
        candidates = [
            e
            for e in self._endpoints.values()
            if e.connected
            and not e.retiring
            and (call.pinned is None or e.address == call.pinned)
            and not (retry and e.address in call.tried)
        ]
        if call.pinned is None and call.request.op == "infer":
            candidates = [e for e in candidates if not e.is_full(now)]
        if not candidates:
            return None
        self._rotation += 1
        fewest = min(len(e.outstanding) for e in candidates)
        best = [e for e in candidates if len(e.outstanding) == fewest]
        return best[self._rotation % len(best)]

    def _dispatch(self, call: Call, now: float, retry: bool = False) -> bool:
        """Send `call` somewhere, or park it until a server connects. False: nowhere to retry."""
        endpoint = self._pick(call, retry, now)
        if endpoint is None:
            if retry:
                return False
            saturated = self.saturation_error(now) if call.pinned is None else None
            if saturated is not None:  # every connected server said OVERLOADED just now
                self._finish(call, error=saturated)
            elif call.pinned is not None:
                self._finish(call, error=Unavailable(f"model server {call.pinned} is not connected"))
            else:
                call.waiting_since = call.waiting_since or now
                self._waiting.append(call)
            return True
        request = call.request
        timed = type(request)(
            id=request.id,
            op=request.op,
            timeout_ms=call.remaining_ms(now),
            infer=request.infer,
            payload=request.payload,
        )
        try:
            frames = [b"", *encode_request(timed)]
            _check_sendable(frames)
            endpoint.socket.send_multipart(frames, zmq.NOBLOCK, copy=False)
        except zmq.Again:  # full or just disconnected: try elsewhere now
            call.tried.add(endpoint.address)
            return self._dispatch(call, now, retry=True) or self._park(call, now)
        except Exception as exc:  # this call cannot be sent anywhere; the others still can
            log.exception("cannot send request %s to %s", request.id, endpoint.address)
            self._finish(call, error=InternalError(f"the client could not send the request: {exc!r}"))
            return True
        call.attempts += 1
        call.tried.add(endpoint.address)
        call.endpoint = endpoint.address
        endpoint.outstanding[request.id] = call
        return True

    def _park(self, call: Call, now: float) -> bool:
        call.waiting_since = call.waiting_since or now
        self._waiting.append(call)
        return True

    def _retry_or_fail(self, call: Call, error: ModelServerError, now: float) -> None:
        call.endpoint = None
        if self._can_retry(call, now) and self._dispatch(call, now, retry=True):
            return
        self._finish(call, error=error)

    def _expire(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, request_id = heapq.heappop(self._deadlines)
            call = self._calls.get(request_id)
            if call is None:
                continue
            if not call.tried:  # never sent: no server was reachable in time
                error: ModelServerError = Unavailable("no model server is reachable")
            else:
                error = DeadlineExceeded(f"no answer within the deadline ({len(call.tried)} server(s) tried)")
            self._finish(call, error=error)
        if self._waiting:
            still: deque[Call] = deque()
            for call in self._waiting:
                if call.request.id not in self._calls:
                    continue
                if now - (call.waiting_since or now) >= self._connect_timeout_s:
                    self._finish(call, error=Unavailable("no model server is reachable"))
                else:
                    still.append(call)
            self._waiting = still

    def _finish(self, call: Call, *, reply: Any = None, error: ModelServerError | None = None) -> None:
        if self._calls.pop(call.request.id, None) is None:
            return
        self.outstanding = len(self._calls)
        if call.endpoint is not None and call.endpoint in self._endpoints:
            self._endpoints[call.endpoint].outstanding.pop(call.request.id, None)
        if error is not None:
            call.future.set_exception(error)
        else:
            call.future.set_result(reply)

    def _shutdown(self) -> None:
        with self._closing:  # also when the loop failed: later calls are refused at once
            self._stop.set()
        for call in list(self._calls.values()):
            self._finish(call, error=Unavailable(self._stopped_because))
        while True:  # queued after the last drain, before the stop: never sent
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Call):
                item.future.set_exception(Unavailable(self._stopped_because))
        for endpoint in self._endpoints.values():
            endpoint.close()
        self._endpoints.clear()
        self._context.term()
