"""The fleet: many Docker hosts, their inventory, and fleet-wide questions."""
