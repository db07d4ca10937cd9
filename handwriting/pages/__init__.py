"""Pages composed from test digits under named conditions: the stress benchmark (issue #15)."""
