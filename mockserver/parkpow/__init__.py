"""The ParkPow API: cameras, vehicles, parking-list, visit-list, log-vehicle."""
