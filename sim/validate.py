"""Checks every input kind shares: finite numbers, integers of a sane size, seeds, energy-override
keys. Each returns problems as "key.path: what was expected; got what" strings (values quoted
short), or raises one ConfigError naming the file."""
from __future__ import annotations

import math

from .errors import ConfigError, did_you_mean
from .limits import MAX_INT, short

MAX_LISTED = 20  # problems of one kind listed before "... and N more"


def value_problems(data, path: str = "") -> list[str]:
    """Non-finite floats (NaN, inf) and integers beyond 2**53 anywhere in a loaded mapping.

    No field of any sim file takes NaN or an infinite value, so the walk needs no schema; it is
    iterative, so even deep data cannot overflow the stack."""
    problems: list[str] = []
    stack = [(path, data)]
    seen: set[int] = set()
    while stack:
        where, value = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{where or 'value'}: must be a finite number; got {value!r}")
        elif isinstance(value, int) and abs(value) > MAX_INT:
            problems.append(f"{where or 'value'}: integer out of range (at most 2**53 in size); got {short(value)}")
        elif isinstance(value, (dict, list)):
            if id(value) in seen:  # an alias: its values were checked where it was anchored
                continue
            seen.add(id(value))
            if isinstance(value, dict):
                kids = [(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]
            else:
                kids = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
            stack.extend(reversed(kids))
    if len(problems) > MAX_LISTED:
        problems = problems[:MAX_LISTED] + [f"... and {len(problems) - MAX_LISTED} more non-finite or huge numbers"]
    return problems


def check_values(data, file: str, path: str = "") -> None:
    """ConfigError naming ``file`` if ``data`` holds NaN, inf or a huge integer anywhere."""
    problems = value_problems(data, path)
    if problems:
        raise ConfigError(file, problems)


def check_seed(seed, where: str = "--seed") -> None:
    """Seeds are integers in [0, 2**63) (numpy's SeedSequence takes no negative entropy)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ConfigError(where, f"must be an integer >= 0 (and < 2**63); got {short(seed)}")


def check_count(value, where: str, minimum: int = 1, maximum: int | None = None) -> None:
    """An integer option (``--batch``, ``--epochs``, ...) within [minimum, maximum]."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    if ok and maximum is not None and value > maximum:
        ok = False
    if not ok:
        rng = f">= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        raise ConfigError(where, f"must be an integer {rng}; got {short(value)}")


def check_positive_number(value, where: str) -> None:
    """A float option (``--lr``) that must be finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(where, f"must be a finite number > 0; got {short(value)}")


def override_problems(hw, known: dict) -> list[str]:
    """``energy.overrides`` keys that name no action of this design (a typo would silently price
    nothing), with a did-you-mean over the actions it has."""
    names = sorted(f"{c}.{a}" for c, a in known)
    problems = []
    for key, _ in hw.energy.overrides:
        if key not in names:
            problems.append(f"energy.overrides.{short(key)[1:-1]}: no such action on this design"
                            + did_you_mean(key, names) + f" (it has {len(names)}, e.g. {', '.join(names[:4])})")
    return problems


def energy_table_problems(hw, action_energies) -> list[str]:
    """Problems of a design's priced actions: values whose products overflow a float (a 1e308 ns
    DAC latency, a link budget needing 10^400 mW of laser), and override keys that name nothing."""
    try:
        table = action_energies(hw)
    except (OverflowError, ZeroDivisionError, ValueError) as exc:
        return [f"energy: the design's values are outside any physical range; pricing its actions fails "
                f"({type(exc).__name__}: {exc})"]
    bad = [f"{c}.{a}" for (c, a), v in table.items() if not math.isfinite(v)]
    if bad:
        return [f"energy: the design's values overflow the energy of {', '.join(bad[:4])} (it would be inf pJ); "
                "check the magnitudes of the fields it is made from"]
    return override_problems(hw, table)


MAX_MODELED = 2**20  # PEs, photonic units, queue slots, banks, channels: each is a simulated object


def hardware_size_problems(hw) -> list[str]:
    """Counts so large that simulating one object each would exhaust memory before any result
    (1e12 PEs, a 1e9-deep activation queue); real designs stay far below ``MAX_MODELED``."""
    sizes = [("memory.dram.channels", hw.memory.dram.channels)]
    sizes += [(f"memory.buffers.{b.name}.banks", b.banks) for b in hw.memory.buffers]
    sizes += [(f"memory.buffers.{b.name}.ports", b.ports) for b in hw.memory.buffers]
    pe = hw.pe_array
    if pe is not None:
        sizes += [("pe_array (rows x cols)", pe.rows * pe.cols), ("pe_array.act_queue_depth", pe.act_queue_depth)]
    ph = hw.photonic
    if ph is not None:
        for g in ("conv_units", "fc_units"):
            unit = getattr(ph, g)
            sizes += [(f"photonic.{g}.count", unit.count), (f"photonic.{g}.vector_width", unit.vector_width),
                      (f"photonic.{g} (count x vector_width)", unit.count * unit.vector_width)]
        sizes.append(("photonic.broadband_mr_per_unit", ph.broadband_mr_per_unit))
    return [f"{where}: {n:,} is more than sim can model (at most {MAX_MODELED:,}, each one is simulated)"
            for where, n in sizes if isinstance(n, int) and n > MAX_MODELED]
