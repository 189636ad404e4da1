"""Shared foundation of the kubeai packages: the error hierarchy and the typed project configuration."""

from kubeai.errors import KubeAIError

__all__ = ["KubeAIError", "__version__"]

__version__ = "0.1.0"
