"""A loopback TCP proxy in front of PostgreSQL that counts client round trips.

It parses the frontend side of the wire protocol and counts the messages
after which the client waits for the server: 'Q' (simple query) and 'S'
(Sync, the end of an extended-protocol exchange). Counting on the wire, not
in Python, is what makes `context_round_trips` a measurement.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104
WAITS = {ord("Q"), ord("S")}


class WireCounter:
    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.count = 0
        self._lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self._stop = True
        self.listener.close()

    def _accept(self):
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._frontend, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def _frontend(self, src, dst):
        buf = b""
        typed = False
        try:
            while chunk := src.recv(65536):
                buf += chunk
                while True:
                    if not typed:  # startup packets have no type byte
                        if len(buf) < 8:
                            break
                        (length,) = struct.unpack("!I", buf[:4])
                        if len(buf) < length:
                            break
                        (code,) = struct.unpack("!I", buf[4:8])
                        typed = code not in (_SSL_REQUEST, _GSS_REQUEST)
                        buf = buf[length:]
                        continue
                    if len(buf) < 5:
                        break
                    (length,) = struct.unpack("!I", buf[1:5])
                    if len(buf) < 1 + length:
                        break
                    if buf[0] in WAITS:
                        with self._lock:
                            self.count += 1
                    buf = buf[1 + length :]
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
