"""megabrain: a BEAM mirror on Thespian and a DXNN-style TWEANN on it.

Subpackages:

* :mod:`actors.runtime` -- actor systems by mode, OTP-style supervisors, registry, monitors.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
