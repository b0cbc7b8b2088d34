"""How this process's allocator keeps freed memory, for the local engines.

The pipeline works in blocks: a block of articles is folded, tokenized and signed through
arrays of a few megabytes each, freed, and the next block allocates them again. glibc's
malloc gives such arrays back to the system at once (above its trim threshold, 32 to 64 MB
at most) or maps them afresh (above its mmap threshold), so every block touches new pages
and pays a page fault for each 4 KB: tokenizing a block of 256 articles took twice as long
beside other allocations as alone (25 against 11-13 us an article). Keeping freed memory
for reuse instead made a 100k scan 12 % faster (20.3-20.6 s -> 17.7-18.0 s, interleaved
three times; see benchmarks/README.md) for 35-60 MB more in its largest process.

Forked workers inherit the setting. Other allocators, and other platforms, are left as
they are.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

#: mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Allocations up to this size come from the heap, so their memory is reused when freed
#: (larger ones, the corpus's signature matrix for one, are still mapped and unmapped).
MMAP_THRESHOLD = 256 << 20
#: Free memory at the heap's top kept for reuse up to this much.
TRIM_THRESHOLD = 1 << 30


@functools.cache
def keep_freed_memory() -> bool:
    """Have this process's malloc keep freed blocks for reuse (see the module docstring);
    whether it could (glibc only)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - glibc, whose mallopt takes these numbers
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
