"""Self-hosted Face API: age, gender and facial expression from a photo."""

__version__ = "0.1.0"
