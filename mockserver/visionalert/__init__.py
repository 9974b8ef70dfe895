"""The VisionAlert API: create-log upload, analysis, alerts, and the read API."""
