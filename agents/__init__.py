"""Runnable agents and their public entry points."""
