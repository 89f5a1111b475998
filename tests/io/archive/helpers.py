"""Helpers for the archive tests: a server that accepts connections and never answers,
pixel comparison, and the instances a folder holds."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import numpy as np
import pydicom


class SilentServer:
    """Listens on a free loopback port, accepts every connection and never sends a byte
    (an archive hung behind its socket). Stops itself after ``lifetime_s`` at the latest."""

    def __init__(self, lifetime_s: float = 60.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(lifetime_s,), daemon=True)
        self._thread.start()

    def _run(self, lifetime_s: float) -> None:
        timer = threading.Timer(lifetime_s, self._stop.set)
        timer.daemon = True
        timer.start()
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self._held.append(conn)  # keep it open, read nothing, answer nothing
        timer.cancel()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self.sock.close()


def pixels(path: Path) -> np.ndarray:
    return pydicom.dcmread(path).pixel_array


def sop_uid(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def originals_by_uid(paths: list[Path]) -> dict[str, Path]:
    return {sop_uid(p): p for p in paths}


def assert_same_pixels(retrieved: Path, original: Path) -> None:
    got, want = pixels(retrieved), pixels(original)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert np.array_equal(got, want), f"{retrieved.name}: pixels differ from {original}"
