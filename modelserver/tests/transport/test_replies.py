"""Worker threads come and go with hot swaps; their reply sockets must go with them."""

from __future__ import annotations

import threading

import zmq

from modelserver.protocol import Reply, Status, decode_reply
from modelserver.transport.replies import ReplyChannel


def test_threads_that_release_their_socket_leave_none_behind_and_lose_no_reply() -> None:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    context.setsockopt(zmq.MAX_SOCKETS, 64)  # far fewer than the threads: a leak would hit it
    channel = ReplyChannel(context)

    def worker(i: int) -> None:
        try:
            channel.send([b"client", b""], Reply(f"r{i}", Status.OK))
        finally:
            channel.release()

    try:
        for i in range(300):
            thread = threading.Thread(target=worker, args=(i,))
            thread.start()
            thread.join()
            assert channel.open_sockets == 0
        received = set()
        while channel.pull.poll(1000):
            frames = channel.pull.recv_multipart()
            received.add(decode_reply(frames[2:]).id)
        assert received == {f"r{i}" for i in range(300)}
    finally:
        channel.close()
        context.term()


def test_release_without_a_socket_and_send_after_release_work() -> None:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    channel = ReplyChannel(context)
    try:
        channel.release()  # this thread never sent
        channel.send([b""], Reply("a", Status.OK))
        channel.release()
        channel.send([b""], Reply("b", Status.OK))  # a fresh socket
        assert channel.open_sockets == 1
        ids = [decode_reply(channel.pull.recv_multipart()[1:]).id for _ in range(2)]
        assert ids == ["a", "b"]
    finally:
        channel.close()
        context.term()
