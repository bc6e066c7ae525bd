"""Peak memory of a block of work: CUDA max-allocated, or CPU resident set size.

On CPU the resident set size is sampled by a background thread (``/proc/self/statm``,
every 5 ms) and the peak above the level at entry is reported; where ``/proc`` is absent
the process-wide ``ru_maxrss`` high-water mark is used instead.
"""

from __future__ import annotations

import os
import resource
import threading
from types import TracebackType

__all__ = ["PeakMemory"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class PeakMemory:
    """Context manager measuring peak memory in MiB on ``device`` (``"cpu"`` or ``"cuda..."``).

    >>> with PeakMemory("cpu") as tracker:
    ...     block = bytearray(50_000_000)
    >>> tracker.peak_mb > 0
    True
    """

    def __init__(self, device: str = "cpu", interval: float = 0.005) -> None:
        self.device = str(device)
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        self._base = _rss_bytes()
        self._peak = self._base or 0
        if self._base is None:
            self._base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            return self
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = _rss_bytes()
            if rss is not None and rss > self._peak:
                self._peak = rss

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device) - self._base
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            rss = _rss_bytes() or 0
            peak = max(self._peak, rss) - self._base
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self._base
        self.peak_mb = max(0.0, peak / 2**20)
