"""The resident hullcheck: one process that keeps hullcheck imported and forks a worker per
command, so that a command starts in milliseconds instead of the ~100 ms Python needs to import
typer, the models and the catalogers.

    protocol   where the socket is and how a message is framed (client and daemon)
    client     what every ``hullcheck`` command runs first: hand the command to the daemon
    server     the daemon: accept, check the caller, fork a worker that runs the command

Nothing is imported here: the client runs before every command and must stay cheap.
"""
