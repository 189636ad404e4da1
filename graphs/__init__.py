"""LangGraph state machines, one folder per graph."""
