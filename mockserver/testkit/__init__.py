"""Client-side test tooling: the control-plane client, interception, the pytest plugin.

No server module imports this package."""
