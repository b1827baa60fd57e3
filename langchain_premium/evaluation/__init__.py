"""Metrics, experiments and the LaMP-2 movie-tagging benchmark."""
