"""Permission webhooks (SPEC §7): Standard Webhooks signatures, the outbox's delivery worker, and
the partner's webhook settings (URL, signing secret rotation, test event)."""
