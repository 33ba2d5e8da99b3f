"""A control socket daemon from before versioning (test_control.sh): it takes
every first line for the request and knows no hello ("err 22").

usage: control_old_daemon.py UUID LOG CONNECTIONS
"""

import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0trackfs/" + sys.argv[1])
s.listen(4)
open(sys.argv[2], "w").write("ready\n")
for _ in range(int(sys.argv[3])):
    c, _ = s.accept()
    line = c.makefile().readline().rstrip("\n")
    with open(sys.argv[2], "a") as log:
        log.write(line + "\n")
    c.sendall(b"ok 7 100 2 0 0.010\n" if line == "meta-snapshot" else b"err 22\n")
    c.close()
