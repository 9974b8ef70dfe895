"""Parity with the live services: record real traffic, replay it against the emulator as a
contract, report every difference.

* ``recorder``: a reverse proxy that forwards to the real service, answers with its reply
  unchanged and writes each exchange to a cassette (``cassette``), secrets redacted
  (``redaction``);
* ``replay``: seeds the emulator from what a cassette implies (``implied_seed``), replays
  each request on the recorded clock and compares each reply (``compare``, by the vendors'
  rules); ``report`` writes the verdicts as Markdown and JUnit XML.

Client-side tooling: it reaches the emulator over HTTP only (its API and ``/_mock/``).
"""
