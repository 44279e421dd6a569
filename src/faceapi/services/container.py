"""What the routes and the console reach: the engine and the shared services."""

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
