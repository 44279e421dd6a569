"""Accuracy evaluation and speed benchmarking of the engine, side by side with peers."""
