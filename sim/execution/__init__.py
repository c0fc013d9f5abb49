"""Execution: the network run for real on its inputs — the numba executor (``execute``), the numpy
reference it is tested against (``reference``, ``tensor_ops``), the general-operator kernels'
wrappers (``tensor_exec``), the shape-only mode (``modes``) — and what it records, the
``WorkProfile`` (``profile``). Mapping and simulation (sim/engine) read the profile; nothing here
knows about hardware."""
