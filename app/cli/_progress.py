"""Progress of long work on the command line: the one place the CLI turns progress callbacks into output."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from kubeai.progress import ProgressDisplay

__all__ = ["progress_display"]


@contextlib.contextmanager
def progress_display(*, enabled: bool = True) -> Iterator[ProgressDisplay | None]:
    """Show progress on stderr while the block runs: a bar on a terminal, a line every 10 s otherwise.

    stderr keeps stdout for results (``--json`` stays parseable). Yields ``None`` when ``enabled`` is false,
    for commands whose ``--no-progress`` turned it off.
    """
    if not enabled:
        yield None
        return
    with ProgressDisplay(sys.stderr) as display:
        yield display
