"""Use cases: load -> decide with `bot.sla` -> persist -> queue messages, in one transaction.

Services are synchronous (the async listeners call them in a worker thread) and take a `clock`;
they never read the real time themselves.
"""
