"""The team store on PostgreSQL: settings, schema, push, team reports (docs/team.md).

Optional: nothing below ``cli`` imports this room, and the driver (``psycopg``) is imported
only when a team command connects, so local use never needs a server or the driver.
"""
