"""The HTTP layer: routes, the response envelope and error mapping. No model code here.

`faceapi.api.app.create_app` builds the application. This package imports nothing itself, so
that the console can use `faceapi.api.contract` without importing the app that mounts it.
"""
