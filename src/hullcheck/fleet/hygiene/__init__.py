"""``fleet report``: garbage, sprawl, rogue containers and idle waste (``report.py``), the
rogue rules (``rules.py``), what the report counts and lists (``settings.py``)."""

from hullcheck.fleet.hygiene.report import garbage, report
from hullcheck.fleet.hygiene.rules import ROGUE_RULES, RogueRule, image_registry, rules
from hullcheck.fleet.hygiene.settings import Idle, Item, Settings

__all__ = [
    "ROGUE_RULES",
    "Idle",
    "Item",
    "RogueRule",
    "Settings",
    "garbage",
    "image_registry",
    "report",
    "rules",
]
