"""Everything one server process shares: the engine and the services, built once at start-up.

The API routes and the console both reach them through this one object.
"""

from __future__ import annotations

from dataclasses import dataclass

from faceapi.engine.pipeline import Engine
from faceapi.services.accounts import AccountService
from faceapi.services.inference import InferenceQueue
from faceapi.services.keys import KeyService
from faceapi.services.sessions import SessionService
from faceapi.services.usage import UsageService
from faceapi.storage import Store


@dataclass(frozen=True, slots=True)
class Services:
    engine: Engine
    store: Store
    keys: KeyService
    usage: UsageService
    accounts: AccountService
    sessions: SessionService
    queue: InferenceQueue
