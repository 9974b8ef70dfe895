"""Soak shape (see load_tests/shaping.py); add this file to ``-f``."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from load_tests.shaping import SoakShape as _Base  # noqa: E402


class Soak(_Base):
    abstract = False
