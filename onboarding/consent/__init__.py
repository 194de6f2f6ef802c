"""The permission screen a partner sends its client to, and the signed callback back."""
