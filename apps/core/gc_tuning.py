"""The garbage collector of the long-running processes (issue 11): web processes and Celery workers.

With 2,000 desktop sockets a web process tracks about 470,000 objects (some 210 per socket), and
CPython's full collection walks them all: py-spy and a gc callback showed 100-320 ms pauses, every few
fan-outs, during which no socket got a frame and no request was answered (bench/sockets.py's slow
rounds). A Celery worker's main process, which hands tasks to its pool, paused 70-120 ms the same way.
Two standard tunings; no library does them:

- what start-up built (Django, the URL conf, the apps) is frozen: never scanned again;
- the first generation is collected after 50,000 net allocations instead of 700. Objects still in
  flight at a collection (a fan-out's futures and frames, a batch's model instances) survive into the
  older generations, and at 700 they soon made the oldest big enough to be walked whole. A young
  collection now walks up to 50,000 objects (10-35 ms measured at 2,000 sockets, mostly while sockets
  connect), and cyclic garbage waits a little longer; memory per socket does not change.

``INSTANT_GC_THRESHOLD=700`` restores CPython's default.
"""
from __future__ import annotations

import gc
import os

GC_THRESHOLD = int(os.environ.get("INSTANT_GC_THRESHOLD") or 50_000)


def tune_gc() -> None:
    """Call once start-up is done, in each process (a forked child too: its own heap from then on)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, older, oldest)
