"""Hardware: YAML configs -> frozen dataclasses, and energy per action."""
from .load import load_hardware
from .spec import HardwareConfig

__all__ = ["HardwareConfig", "load_hardware"]
