"""A typed client for TAS's MIS routes (generated from referral's OpenAPI: `tas_mis_client.generated`) and the
helpers a vendor needs around it: tokens by OAuth client credentials (`auth`), pushing a large export in batches with
retries that reuse the Idempotency-Key (`pushing`), verifying webhooks (`webhooks`), and `tas-mis-push` (`push_cli`)."""

from .auth import ClientCredentials
from .pushing import PushSummary, chunk, push_all
from .webhooks import ReplayGuard, verify_webhook

__all__ = ["ClientCredentials", "PushSummary", "ReplayGuard", "chunk", "push_all", "verify_webhook"]
