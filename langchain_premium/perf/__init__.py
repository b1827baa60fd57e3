"""Performance measurements behind ``premium perf`` (GitHub issue 7): one concern per module."""
