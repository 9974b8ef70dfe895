"""Spec-driven contract tests: run against the in-process emulator or any server."""
