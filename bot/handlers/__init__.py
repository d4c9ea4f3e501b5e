"""Thin Bolt listeners: ack, parse, call one service, render. `register(app, ...)` wires them."""
