"""Hostile-input tests run under an address-space cap, so a regression that allocates
gigabytes fails with MemoryError here instead of swapping the machine."""

from __future__ import annotations

import resource

import pytest

#: Headroom above what the test process has mapped when a test starts.
MEMORY_HEADROOM = 2 << 30


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * resource.getpagesize()


@pytest.fixture(autouse=True)
def memory_cap():
    """Cap the address space at its current size + 2 GiB for the duration of a test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _mapped_bytes() + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield cap
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
