"""The routes, one module per operation; each builds its router for a kind of run."""
