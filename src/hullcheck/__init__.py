"""hullcheck: visibility, audit trail and supply-chain control for fleets of Docker hosts."""

__version__ = "0.1.0"
