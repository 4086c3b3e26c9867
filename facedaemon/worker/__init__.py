"""The recognition worker: a child process that detects, tracks and names faces, and its owner in the daemon.

protocol.py is all the two sides share; client.py runs in the daemon (spawn, check, stop, submit) and keeps what
comes back on board.py's result board (in flight, latest results, counts); entry.py is the child's entry point,
frames.py moves frames through shared memory, child.py and unknowns.py run in the child (which writes
runtime_dir/recent/ and faces_dir/.unknowns/), logs.py forwards the child's log lines.
"""
