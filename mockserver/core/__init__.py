"""Pieces shared by both vendor APIs: store, clock, due work, auth, errors, HTTP edges."""
