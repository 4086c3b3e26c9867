"""The recognition worker: a child process that detects, tracks and names faces, and its owner in the daemon.

protocol.py is all the two sides share; client.py runs in the daemon (spawn, check, stop, submit, latest results),
frames.py moves frames through shared memory, child.py and unknowns.py run in the child (which writes
runtime_dir/recent/ and faces_dir/.unknowns/), logs.py forwards the child's log lines.
"""
