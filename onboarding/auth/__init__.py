"""Client sign-in, sign-up and sign-out."""
