"""The messaging side, as far as this hub knows it: a channel API key proves which channel."""
