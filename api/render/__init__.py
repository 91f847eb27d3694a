"""Words at the edge: plans, explanations, audience views, comparisons and sweeps rendered as text, Markdown,
CSV, JSON and self-contained HTML pages, for the command line and the service alike.

Rendering reads domain objects and returns strings; it solves nothing and imports neither the command
line nor the service.
"""
