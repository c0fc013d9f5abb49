"""Start-up imports only what a command needs: ``--help`` and ``check`` load neither numba nor pandas."""
import subprocess
import sys

import pytest

PROBE = ("import sys, contextlib, io\nfrom sim.cli import main\n"
         "with contextlib.redirect_stdout(io.StringIO()):\n"
         "    try:\n        main({argv!r})\n    except SystemExit:\n        pass\n"
         "print(','.join(m for m in ('numba', 'pandas') if m in sys.modules))")


@pytest.mark.parametrize("argv", [["--help"], ["check", "hwconfigs/eie.yaml", "models/lenet300.yaml"]])
def test_light_commands_do_not_import_numba_or_pandas(argv):
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_package_attributes_still_resolve():
    import sim
    assert callable(sim.run) and callable(sim.compare) and sim.ConfigError.__name__ == "ConfigError"
