"""k8smcp benchmark: python -m bench (see bench/README.md)."""
