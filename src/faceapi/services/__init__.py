"""What the API, the CLI and the console share: keys, usage, limits, bounded inference."""
