"""Token issuers that TAS runs itself, and the keys they use.

- `SigningKey`: an EC P-256 private key that signs ES256 tokens under a `kid` (its RFC 7638 thumbprint) and
  publishes its public half as a JWKS. Caseload's family issuer uses one (from `TAS_FAMILY_SIGNING_KEY` in
  production, a file under `TAS_FAMILY_KEY_DIR` in the embedded default, created on first use).
- `PublicKeyFile`: the public half of such a key read from disk, lazily (the embedded default's other services
  verify family tokens with it; in production they fetch caseload's JWKS instead).
- `SealedBox`: AES-256-GCM with a key shared by two services, for the one secret that must cross the stream
  (a one-time sign-in code from caseload to notify). The associated data binds a sealed value to its message.

No I/O happens at import or construction: keys are read (or created) when first needed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
import uuid
from pathlib import Path
from threading import Lock
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write_secret_file(path: Path, data: bytes) -> None:
    """Create `path` (mode 0600) with `data` unless it exists; published whole (a temporary file linked into
    place), so that a second process that races us reads the first key, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The public JWK of a P-256 key with `kid` = its RFC 7638 thumbprint, `use` sig, `alg` ES256."""
    numbers = public_key.public_numbers()
    x, y = (_b64url(v.to_bytes(32, "big")) for v in (numbers.x, numbers.y))
    thumbprint = hashlib.sha256(
        json.dumps({"crv": "P-256", "kty": "EC", "x": x, "y": y}, separators=(",", ":")).encode()
    )
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": x,
        "y": y,
        "kid": _b64url(thumbprint.digest()),
        "use": "sig",
        "alg": "ES256",
    }


class SigningKey:
    """An ES256 signing key, given as PEM or kept in `<key_dir>/private.pem` (+ `public.pem`, created on first
    use for the embedded default)."""

    def __init__(self, *, pem: bytes | None = None, key_dir: Path | None = None) -> None:
        if pem is None and key_dir is None:
            raise ValueError("a signing key needs a PEM or a key directory")
        self._pem = pem
        self._key_dir = Path(key_dir) if key_dir is not None else None
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._lock = Lock()

    def _load(self) -> ec.EllipticCurvePrivateKey:
        if self._key is not None:
            return self._key
        with self._lock:
            if self._key is None:
                pem = self._pem
                if pem is None:
                    assert self._key_dir is not None
                    private_path = self._key_dir / "private.pem"
                    if not private_path.exists():
                        fresh = ec.generate_private_key(ec.SECP256R1())
                        write_secret_file(
                            private_path,
                            fresh.private_bytes(
                                serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption(),
                            ),
                        )
                    pem = private_path.read_bytes()
                key = serialization.load_pem_private_key(pem, password=None)
                if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                    raise ValueError("the signing key must be an EC P-256 private key")
                if self._key_dir is not None:
                    public_path = self._key_dir / "public.pem"
                    public_pem = key.public_key().public_bytes(
                        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                    )
                    if not public_path.exists() or public_path.read_bytes() != public_pem:
                        tmp = public_path.with_suffix(f".{uuid.uuid4().hex}.tmp")
                        tmp.write_bytes(public_pem)
                        tmp.replace(public_path)
                self._key = key
        return self._key

    @property
    def kid(self) -> str:
        return self.jwk()["kid"]

    def jwk(self) -> dict[str, str]:
        return public_jwk(self._load().public_key())

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.jwk()]}

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._load().public_key()

    def mint(self, claims: dict[str, Any], *, ttl_seconds: int) -> tuple[str, int]:
        """Sign `claims` plus `iat`, `nbf`, `exp` and a fresh `jti`; returns the token and its `exp`."""
        now = int(time.time())
        body = {**claims, "iat": now, "nbf": now - 5, "exp": now + ttl_seconds, "jti": str(uuid.uuid4())}
        return jwt.encode(body, self._load(), algorithm="ES256", headers={"kid": self.kid}), body["exp"]


class PublicKeyFile:
    """A verifier's view of a key kept on disk by the service that signs with it: read when first needed and
    again while it is missing (the signing service may start later)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._key: Any = None

    def get(self) -> Any:
        if self._key is None:
            try:
                self._key = serialization.load_pem_public_key(self.path.read_bytes())
            except FileNotFoundError:
                return None
        return self._key


class SealedBox:
    """AES-256-GCM under a 32-byte key (given base64, or kept in a file created on first use in dev). A sealed
    value is `base64url(nonce || ciphertext+tag)`; `aad` must be the same to open it."""

    def __init__(self, *, key_b64: str | None = None, key_file: Path | None = None) -> None:
        if key_b64 is None and key_file is None:
            raise ValueError("a sealed box needs a key or a key file")
        self._key_b64 = key_b64
        self._key_file = Path(key_file) if key_file is not None else None
        self._aead: AESGCM | None = None

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            raw = self._key_b64
            if raw is None:
                assert self._key_file is not None
                if not self._key_file.exists():
                    write_secret_file(self._key_file, base64.b64encode(secrets.token_bytes(32)))
                raw = self._key_file.read_text().strip()
            key = base64.b64decode(raw)
            if len(key) != 32:
                raise ValueError("the sealing key must be 32 bytes, base64-encoded")
            self._aead = AESGCM(key)
        return self._aead

    def seal(self, plaintext: str, *, aad: str) -> str:
        nonce = secrets.token_bytes(12)
        return _b64url(nonce + self._cipher().encrypt(nonce, plaintext.encode(), aad.encode()))

    def open(self, sealed: str, *, aad: str) -> str:
        """The plaintext, or ValueError when the value was not sealed with this key for this `aad`."""
        try:
            raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
            return self._cipher().decrypt(raw[:12], raw[12:], aad.encode()).decode()
        except Exception as exc:  # InvalidTag, bad base64, short input
            raise ValueError("the sealed value cannot be opened") from exc


def signin_code_box(*, key_b64: str | None, key_dir: Path | None) -> SealedBox:
    """The box a one-time sign-in code travels in from caseload to notify: `TAS_SIGNIN_CODE_KEY`, or in the
    embedded default a key file both services find under `TAS_FAMILY_KEY_DIR`."""
    if key_b64:
        return SealedBox(key_b64=key_b64)
    if key_dir is None:
        raise ValueError("set TAS_SIGNIN_CODE_KEY, or TAS_FAMILY_KEY_DIR in dev")
    return SealedBox(key_file=Path(key_dir) / "signin-code.key")


def web_forwarding_secret(*, configured: str | None, key_dir: Path | None, env: str) -> str | None:
    """The secret the web service proves itself to caseload with (`TAS_WEB_FORWARDING_SECRET`); in the embedded
    default (not prod) a file under `TAS_FAMILY_KEY_DIR` that both find, created on first use."""
    if configured:
        return configured
    if env == "prod" or key_dir is None:
        return None
    path = Path(key_dir) / "web-forwarding.secret"
    if not path.exists():
        write_secret_file(path, secrets.token_urlsafe(32).encode())
    return path.read_text().strip()
