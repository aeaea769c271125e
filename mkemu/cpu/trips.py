"""A loop trace's trip counters (TRIPS), made once a process: the translator writes
`for _n in TRIPS[trip]` (BlockBuilder._loop_header) and cached traces run it, so it
lives apart from the decoder (a warm run need not import that: familyhelpers.py)."""

# one range per trip length: a loop's entry makes only the iterator (a range() with a
# 2**62 stop built at each entry cost ~1,800 host instructions, the iterator ~400)
TRIPS = tuple(range(0, 1 << 62, k) if k else range(0) for k in range(129))
