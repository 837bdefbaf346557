"""Bills of materials: walk image layers once, catalog packages, squash, attribute layers."""
