"""Everything at once: a camera fleet, dashboards, parking gates and a back office.

    locust -f load_tests/mixed.py --host http://127.0.0.1:8000 --token demo-token \
        --emulator --time-scale 90 --headless -u 500 -r 50 -t 5m

Users split by weight: cameras 20, vehicles 4, dashboards 1, back office 1.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# modules, not classes: Locust runs every user class it finds in this file's namespace
from load_tests import dashboard, fleet, gate  # noqa: E402


class FleetCamera(fleet.CameraUser):
    weight = 20


class GateVehicle(gate.VehicleUser):
    weight = 4


class Dashboard(dashboard.DashboardUser):
    weight = 1


class BackOffice(gate.BackOfficeUser):
    weight = 1
