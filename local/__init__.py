"""Running the service on one machine: the app with every route, its tables, `make serve`."""
