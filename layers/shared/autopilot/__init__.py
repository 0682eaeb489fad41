"""Billomat Autopilot shared layer: the Billomat client and what every function shares."""
