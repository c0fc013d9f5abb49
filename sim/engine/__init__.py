"""Engine: executing networks, mapping work onto hardware, simulating it."""
