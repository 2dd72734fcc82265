"""Referral's secrets for MIS clients, built once per process from settings and read when first used:

- the MIS issuer's signing key (`TAS_MIS_SIGNING_KEY`, or `<TAS_MIS_KEY_DIR>/private.pem` in dev), whose public
  half is published at `/v1/mis/oauth/jwks` for the services that accept MIS client tokens;
- the box that seals webhook signing secrets at rest (`TAS_WEBHOOK_SECRET_KEY`, base64 of 32 bytes, or
  `<TAS_MIS_KEY_DIR>/webhook-secrets.key` in dev): a secret must be read back to sign, so it cannot be a hash.
"""

from __future__ import annotations

from pathlib import Path

from tas_common.issuers import SealedBox, SigningKey

from .config import ReferralSettings


class MisKeys:
    def __init__(self, settings: ReferralSettings) -> None:
        key_dir = settings.mis_key_dir
        if settings.mis_signing_key:
            self.signing = SigningKey(pem=settings.mis_signing_key.encode())
        elif key_dir is not None:
            self.signing = SigningKey(key_dir=key_dir)
        else:
            raise ValueError("set TAS_MIS_SIGNING_KEY, or TAS_MIS_KEY_DIR in dev")
        if settings.webhook_secret_key:
            self.webhook_box = SealedBox(key_b64=settings.webhook_secret_key)
        elif key_dir is not None:
            self.webhook_box = SealedBox(key_file=Path(key_dir) / "webhook-secrets.key")
        else:
            raise ValueError("set TAS_WEBHOOK_SECRET_KEY, or TAS_MIS_KEY_DIR in dev")
