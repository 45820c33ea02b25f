"""megabrain's morphologies: pure environments (scapes) with their sensor and actuator specs."""
