"""Progress bars on stderr (tqdm), shown only on a terminal: pipes, CI logs and tests get no output.

Per-layer bars (``layers``) are off unless a command turns them on (``python -m sim run`` and
``compare`` do, ``-q`` keeps them off): library calls, sweep workers and tests print nothing.

    with progress.shown(not args.quiet):
        for layer in progress.layers(net.layers, "execute"):
            ...

``bar`` is the one place a tqdm bar is made (sweeps and benchmarks count points with it too).
"""
from __future__ import annotations

import contextlib
import sys

_shown = False  # per-layer bars: set by the commands that want them (``shown``)


@contextlib.contextmanager
def shown(on: bool = True):
    """Per-layer bars on (``on``) or off inside the block; the previous setting after it."""
    global _shown
    before, _shown = _shown, bool(on)
    try:
        yield
    finally:
        _shown = before


def on_terminal() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def bar(total: int, desc: str, unit: str, initial: int = 0, enabled: bool = True, **options):
    """A tqdm bar on stderr, disabled (no output at all) unless ``enabled`` and stderr is a terminal.
    Rate and ETA as tqdm shows them; no monitor thread, so forked workers stay safe."""
    from tqdm import tqdm  # imported on use: ``--help`` and ``check`` load no more than they need

    tqdm.monitor_interval = 0
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=not (enabled and on_terminal()),
                file=sys.stderr, dynamic_ncols=True, **options)


def layers(items, desc: str, name=None):
    """Iterate ``items`` with a per-layer bar naming the layer at work, when bars are ``shown``.
    name(item) -> the layer name (default ``item.name``; for tuples, that of their first element)."""
    if not (_shown and on_terminal()):
        yield from items
        return
    items = list(items)
    label = name or (lambda it: (it[0] if isinstance(it, tuple) else it).name)
    b = bar(len(items), desc, "layer", leave=False)
    try:
        for item in items:
            b.set_postfix_str(str(label(item)), refresh=True)
            yield item
            b.update(1)
    finally:
        b.close()
