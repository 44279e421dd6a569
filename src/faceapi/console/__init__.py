"""The developer console: accounts, API keys, usage and limits, and a page to try the API.

It is a client of the same services as the API and the CLI; it never touches the database.
"""

from faceapi.console.app import mount_console

__all__ = ["mount_console"]
