"""The HTTP edge: request parsing and validation, error mapping, response shaping, routes, OpenAPI."""
