"""The ``shora`` command line: a thin layer of words over shora.node.Node.

main.py holds the group, its global options and the error handling; the commands
live in councils.py, members.py, posts.py and bundles.py; output.py has the helpers
for human and JSON output, and localise.py makes click's own words speak Persian.
"""
