"""Who is calling: the API key in ``Authorization: Bearer <key>`` or ``X-API-Key``, checked against the key store.

No key, or one the store does not know: 401. A revoked key: 403. Both answer one sentence.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.api.errors import ApiError
from app.keys import ApiKey, KeyStore
from app.messages import INVALID_KEY, missing_key, revoked_key

__all__ = ["Caller", "authenticate", "key_store"]

_bearer = HTTPBearer(auto_error=False, description="An API key from `kubeai keys create`.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key from `kubeai keys create`.")


def key_store(request: Request) -> KeyStore:
    """The app's key store."""
    store: KeyStore = request.app.state.keys
    return store


def authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> ApiKey:
    """The valid key of the request.

    Raises:
        ApiError: 401 for a missing or unknown key, 403 for a revoked one.
    """
    secret = (bearer.credentials if bearer is not None else None) or header
    if not secret:
        raise ApiError.saying(missing_key("`Authorization: Bearer <key>`", "`X-API-Key: <key>`"), status_code=401)
    key = key_store(request).lookup(secret.strip())
    if key is None:
        raise ApiError.saying(INVALID_KEY, status_code=401)
    if key.revoked:
        raise ApiError.saying(revoked_key(key.id), status_code=403)
    return key


Caller = Annotated[ApiKey, Depends(authenticate)]
"""A route parameter that requires a valid key."""
