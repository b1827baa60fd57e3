"""Simulated users, annotators and the shipped query sets."""
