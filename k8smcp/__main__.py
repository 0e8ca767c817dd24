"""``python -m k8smcp``."""

from k8smcp.cli import main

main()
