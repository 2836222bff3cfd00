"""Declarations: the params (pydantic, every range once), the input and output tables, the
consistency rules across tables, and the vocabulary every word comes from.

Import the module itself; nothing is re-exported here.
"""
