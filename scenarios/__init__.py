"""Bundled example scenarios."""
