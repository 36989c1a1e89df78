"""Employees, teams, selfie uploads, generation requests and the headshots they produce."""
