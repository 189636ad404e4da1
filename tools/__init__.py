"""Tools the graphs call: typed, validated, and safe to run on model output (the SQL gate first)."""
