"""The domain core: who may generate a channel's API keys (SPEC R1-R8) and what happened when."""
