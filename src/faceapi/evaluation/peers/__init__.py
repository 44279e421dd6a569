"""Other face-attribute systems run on the same images as ours, for comparison."""
