"""Serving: the model registry, the vLLM launcher, bundled-model preparation, and the client agents use."""

from serving.client import Completion, ModelClient, Structured, Usage
from serving.launcher import LaunchPlan, VLLMServer, free_port, plan_launch, resolve_device
from serving.registry import ModelRegistry, RegisteredModel

__all__ = [
    "Completion",
    "LaunchPlan",
    "ModelClient",
    "ModelRegistry",
    "RegisteredModel",
    "Structured",
    "Usage",
    "VLLMServer",
    "free_port",
    "plan_launch",
    "resolve_device",
]
