"""k8smcp: run Kubernetes CLIs for LLM agents, people and scripts."""

__version__ = "0.1.0"
__all__ = ["__version__"]
