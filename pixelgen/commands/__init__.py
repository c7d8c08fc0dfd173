"""The CLI's commands, one module each: what a user runs."""
