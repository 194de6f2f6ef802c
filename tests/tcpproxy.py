"""A TCP proxy in threads: the database "goes away" when it stops (every connection through it is
cut and new ones are refused) and comes back when it starts again on the same port."""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._acceptor: threading.Thread | None = None
        self._pumps: list[threading.Thread] = []

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: same port
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def stop(self) -> None:
        """Refuse new connections and cut the open ones, as a crashed database server would."""
        listener, self._listener = self._listener, None
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)  # it sees the listener gone within 50 ms
        if listener is not None:
            listener.close()
        with self._lock:
            cut, self._open = self._open, set()
        for sock in cut:
            _close(sock)
        for pump in self._pumps:
            pump.join(timeout=5)
        self._pumps = []

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                downstream, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(downstream)
                continue
            for sock in (downstream, upstream):
                sock.settimeout(None)
            with self._lock:
                self._open |= {downstream, upstream}
            for source, target in ((downstream, upstream), (upstream, downstream)):
                pump = threading.Thread(target=self._pump, args=(source, target), daemon=True)
                self._pumps.append(pump)
                pump.start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
