"""Caseload's secrets for family sign-in, built once per process from settings and read when first used:

- the family issuer's signing key (`TAS_FAMILY_SIGNING_KEY`, or `<TAS_FAMILY_KEY_DIR>/private.pem` in dev);
- the pepper of the HMACs that stand in for codes, contacts and client addresses (`TAS_SIGNIN_PEPPER`, or
  `<TAS_FAMILY_KEY_DIR>/signin-pepper.key`), from which the key that seals a contact for the dispatcher is derived;
- the box shared with notify that a code travels in (`TAS_SIGNIN_CODE_KEY`, or `<dir>/signin-code.key`);
- the secret the web service proves itself with (`TAS_WEB_FORWARDING_SECRET`, or `<dir>/web-forwarding.secret`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from tas_common.issuers import SealedBox, SigningKey, signin_code_box, web_forwarding_secret, write_secret_file

from .config import CaseloadSettings

if TYPE_CHECKING:
    from tas_common.runtime import ServiceRuntime

EXTRA = "family_keys"
"""Where the service keeps its FamilyKeys in `runtime.extras` (main.create_app)."""


class FamilyKeys:
    def __init__(self, settings: CaseloadSettings) -> None:
        key_dir = settings.family_key_dir
        if settings.family_signing_key:
            self.signing = SigningKey(pem=settings.family_signing_key.encode())
        elif key_dir is not None:
            self.signing = SigningKey(key_dir=key_dir)
        else:
            raise ValueError("set TAS_FAMILY_SIGNING_KEY, or TAS_FAMILY_KEY_DIR in dev")
        self.code_box = signin_code_box(key_b64=settings.signin_code_key, key_dir=key_dir)
        self._pepper_setting = settings.signin_pepper
        self._pepper_file = Path(key_dir) / "signin-pepper.key" if key_dir is not None else None
        self._pepper: bytes | None = None
        self._contact_box: SealedBox | None = None
        self._web_secret = (settings.web_forwarding_secret, key_dir, settings.env)
        self._web_secret_value: str | None = None

    @property
    def web_secret(self) -> str | None:
        """What the web service sends in `X-TAS-Web-Secret` (api/signin.py)."""
        if self._web_secret_value is None:
            configured, key_dir, env = self._web_secret
            self._web_secret_value = web_forwarding_secret(configured=configured, key_dir=key_dir, env=env)
        return self._web_secret_value

    @property
    def pepper(self) -> bytes:
        if self._pepper is None:
            if self._pepper_setting:
                self._pepper = self._pepper_setting.encode()
            else:
                if self._pepper_file is None:
                    raise ValueError("set TAS_SIGNIN_PEPPER, or TAS_FAMILY_KEY_DIR in dev")
                if not self._pepper_file.exists():
                    write_secret_file(self._pepper_file, secrets.token_urlsafe(32).encode())
                self._pepper = self._pepper_file.read_text().strip().encode()
        return self._pepper

    def mac(self, purpose: str, *parts: str) -> str:
        """HMAC-SHA256 under the pepper of `purpose` and `parts` (hex): what the database keeps instead."""
        message = "\0".join((purpose, *parts)).encode()
        return hmac.new(self.pepper, message, hashlib.sha256).hexdigest()

    @property
    def contact_box(self) -> SealedBox:
        """Seals a contact for the dispatcher (caseload only): a key derived from the pepper."""
        if self._contact_box is None:
            derived = hmac.new(self.pepper, b"tas-signin-contact-seal", hashlib.sha256).digest()
            self._contact_box = SealedBox(key_b64=base64.b64encode(derived).decode())
        return self._contact_box


def family_keys_of(runtime: ServiceRuntime) -> FamilyKeys:
    """The service's FamilyKeys, as create_app keeps them in `runtime.extras`."""
    keys = runtime.extras[EXTRA]
    if not isinstance(keys, FamilyKeys):
        raise TypeError(f"runtime.extras[{EXTRA!r}] is not the service's FamilyKeys")
    return keys
