"""What the server lets one request ask, and how it batches requests.

Kept apart from :mod:`slotfill.server` so that the CLI can show these defaults without
importing the web stack.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one request may ask, and how requests are batched.

    ``max_tokens`` bounds the time of any one request: tagging costs about 0.25 ms a
    token on two cores, so a request of ``max_texts`` texts of ``max_tokens`` tokens is
    tagged in a few seconds at most. Longer texts are refused; split them into sentences.
    """

    max_body_bytes: int = 1_000_000
    max_texts: int = 64
    max_tokens: int = 500
    batch_size: int = 64       # texts per model call; 1 turns batching off
    batch_wait_ms: float = 5.0  # how long the first request of a batch waits for others
    max_queued: int = 4096     # texts waiting for the model before requests get a 429
