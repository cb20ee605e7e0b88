"""The monitors' workspace."""
