"""Copying a Prefect 3 server's flow-run and task-run states into the service's tables.

Its own package: it reads the source with httpx, which the service's functions never ship.
"""
