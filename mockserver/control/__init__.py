"""The control plane under /_mock/: emulator-only, JSON in and out."""
