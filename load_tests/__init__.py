"""Locust load profiles and benchmark scripts for the mockserver emulator."""
