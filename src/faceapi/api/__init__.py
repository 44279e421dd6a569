"""The HTTP layer: routes, the response envelope and error mapping. No model code here."""

from faceapi.api.app import create_app

__all__ = ["create_app"]
