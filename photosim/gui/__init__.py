"""The desktop app (PySide6). Thin: every action calls a service from a worker thread.

Nothing outside this package imports it, and nothing here holds logic that the
CLI lacks; the widgets only show what the services return.
"""
