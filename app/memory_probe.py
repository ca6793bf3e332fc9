"""What holds the server's memory, measured from inside (opt-in, for an administrator or the memory
benchmark): with ``AAE_TRACEMALLOC=FILE`` in the server's environment, Python's allocation tracer runs
and, every ``AAE_TRACEMALLOC_EVERY`` seconds (default 5), FILE is rewritten (atomically) with the
traced total and the 200 largest allocation sites (file:line → bytes, count) as JSON.

It sees Python's own allocations (objects, numpy arrays and torch tensors made through Python's
allocator are included only where they allocate through it: numpy does, torch's CPU tensors do not),
not the C allocator's fragmentation; the resident size minus the traced total is that remainder.
Tracing slows the server (2–3×): never for a class, only to find what grows.
"""
from __future__ import annotations

import json
import os
import threading
import time
import tracemalloc
from pathlib import Path

_started = threading.Lock()
_running = False


def start_from_env() -> bool:
    """Start the tracer and its writer once per process when ``AAE_TRACEMALLOC`` names a file; returns
    whether it runs."""
    global _running
    target = os.environ.get("AAE_TRACEMALLOC")
    if not target:
        return False
    with _started:
        if not _running:
            every = float(os.environ.get("AAE_TRACEMALLOC_EVERY", "5"))
            tracemalloc.start(1)
            threading.Thread(target=_write_forever, args=(Path(target), every), daemon=True,
                             name="aae-tracemalloc").start()
            _running = True
    return True


def malloc_bytes() -> dict[str, int]:
    """The C allocator's own count (glibc's mallinfo2, every arena): bytes handed out and still in use,
    and bytes freed but kept in its heaps (fragmentation the resident size still shows); {} elsewhere."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(f, ctypes.c_size_t) for f in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                    "fsmblks", "uordblks", "fordblks", "keepcost")]
    try:
        fn = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return {}
    fn.restype = MallInfo2
    info = fn()
    return {"in_use": int(info.uordblks + info.hblkhd), "free_kept": int(info.fordblks)}


def sites(limit: int = 200) -> dict:
    """The traced total, the largest allocation sites and the C allocator's count now:
    {"total": bytes, "sites": {site: [bytes, n]}, "malloc": {"in_use", "free_kept"}}."""
    stats = tracemalloc.take_snapshot().statistics("lineno")
    return {"total": sum(s.size for s in stats), "time": time.time(), "malloc": malloc_bytes(),
            "sites": {f"{s.traceback[0].filename}:{s.traceback[0].lineno}": [s.size, s.count] for s in stats[:limit]}}


def _write_forever(target: Path, every: float) -> None:
    while True:
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(json.dumps(sites()))
        os.replace(tmp, target)
        time.sleep(every)


def growth(before: dict, after: dict, top: int = 10) -> list[tuple[str, int]]:
    """The ``top`` sites whose traced bytes grew most between two dumps: [(site, bytes grown)]."""
    keys = set(before["sites"]) | set(after["sites"])
    grown = {k: after["sites"].get(k, [0, 0])[0] - before["sites"].get(k, [0, 0])[0] for k in keys}
    return sorted(((k, v) for k, v in grown.items() if v > 0), key=lambda kv: -kv[1])[:top]
