"""Dev tooling for TAS, never installed in production images: `tas up` (the local supervisor), the dev SMTP sink,
and test support (a real nats-server on a free port, fictional people)."""
