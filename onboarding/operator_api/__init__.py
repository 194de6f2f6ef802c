"""The operator API (`/ops/v1`, SPEC §6.1): the hub operator's provisioning system sets channel
status and billing models. One bearer token from the configuration; off while none is set."""
