"""The benchmark's parts, each ``async run(bench) -> dict`` of JSON-ready results."""
