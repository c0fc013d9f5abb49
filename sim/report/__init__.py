"""Reports: pricing counted actions and writing CSV/PNG files."""
