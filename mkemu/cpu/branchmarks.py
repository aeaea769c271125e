"""Which side of a conditional branch a trace follows, and how that is learnt.

A trace goes on with a conditional branch's fall-through and leaves by its
taken side, counting that side exit (HOT, Engine.count_exit).  The HOT_EXITS-th
exit marks the branch likely taken (its pc joins the engine's likely_taken) and
the trace is made again, now following the taken side.

That first decision looks at one side only: 32 exits say the taken side is
common, not that it is the more common one.  So a marked branch's fall-through
exit counts too, in traces made in full (BlockBuilder.end_cond_branch); when it
gets hot (FALL_EXITS exits), the trace follows the fall-through again and counts
the taken side (AGAIN), and when that gets hot too the branch is settled for
good (Engine.hot_branch): the side that took fewer guest instructions a
HOT_EXITS exits is followed, and neither side counts any more.  (The two
are timed one after the other, in the same phase of the program: the first
mark may be from another, such as python3's start-up, whose eval loop takes
its branches otherwise than a script's loop does.)  Without this a trace could
follow forever a side taken once in fourteen runs: half of the dispatches of a
warm `python3 -c pass` left a trace by the fall-through of a marked branch,
most of them where that was the trace's usual way out.

The marks are keys of likely_taken, so they stay a set that only grows (what
the code cache and start kits rely on: a trace variant names the marks that
shaped it, BlockBuilder.marks): for the branch at pc (a multiple of 4),
    pc            marked likely taken
    pc + FALL     settled: follow the fall-through, the taken side uncounted
    pc + TAKEN    settled: follow the taken side, the fall-through uncounted
    pc + AGAIN    follow the fall-through, timing the taken side
(with both settled marks, from two runs that decided differently, FALL wins).
"""
from __future__ import annotations

FALL = 1
TAKEN = 2
AGAIN = 3
# the exits that make a marked branch's fall-through hot: 4 times a taken side's
# (Engine.HOT_EXITS), so that only a branch worth it pays the two translations of
# settling (a warm python3 start: the fall-through exits taken 128 times a run
# were 595 of the 1,109 taken 32 times, and 98% of the dispatches those left by)
FALL_EXITS = 128


def shape(pc: int, likely_taken: set[int], marks: dict[int, bool]) -> tuple[bool, int | None]:
    """How a trace treats the conditional branch at pc: (follow its taken side?,
    the key the side exit it leaves by counts under, None for an uncounted
    exit).  Records in marks each mark the answer depended on."""
    marked = pc in likely_taken
    marks[pc] = marked
    if not marked:
        return False, pc
    for key, taken in ((pc + FALL, False), (pc + TAKEN, True), (pc + AGAIN, False)):
        mark = marks[key] = key in likely_taken
        if mark:
            return taken, None if key != pc + AGAIN else key
    return True, pc + FALL


def kind(key: int) -> int:
    """0 for a side exit's key that counts a branch's taken side, else the
    mark that counts it (FALL: a marked branch's fall-through, AGAIN)."""
    return key & 3


def settle(branch: int, fall_span: int | None, taken_span: int) -> int:
    """The settling mark of a branch whose sides each got hot (HOT_EXITS exits)
    in so many guest instructions (fall_span None: the code cache brought the
    AGAIN mark, the fall-through was not timed here): the side quicker to get
    hot, and if not known, the taken side (as the first mark had it)."""
    if fall_span is not None and fall_span < taken_span:
        return branch + FALL
    return branch + TAKEN
