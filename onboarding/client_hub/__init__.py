"""The Client Hub: a client's own view of its numbers and who may manage them."""
