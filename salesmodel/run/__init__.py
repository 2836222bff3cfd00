"""Running plans: the runner (papermill), batches, the audit trail (run ids, manifest, hashes),
verify, and the lab workspace.

Import the module itself; nothing is re-exported here.
"""
