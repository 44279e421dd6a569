"""ONNX Runtime sessions, created once at start-up and shared by all requests."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime as ort


def create_session(model: bytes, threads: int) -> ort.InferenceSession:
    """A CPU session; `threads` bounds the intra-op pool so concurrent requests share cores."""
    # Imported here, not with the engine's modules, which the key and account commands load
    # for the settings' defaults: importing onnxruntime crashes Python (SIGSEGV) when the
    # command line is very long, so `keys create --name <50,000 characters>` died silently.
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings about unused initialisers are not actionable
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
