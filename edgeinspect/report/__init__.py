"""Rendering: model and metrics -> JSON-ready dicts, text tables, and other output formats."""
