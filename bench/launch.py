"""Run a command and write its peak RSS (``ru_maxrss``, KiB) to a file; exit as it did.

Linux carries ``ru_maxrss`` across ``exec`` from the memory the process replaced, and
Python starts a child with ``vfork``, so on the parent's memory: a child of a bench process
that once held 286 MB reports at least 286 MB, whatever it used itself. Forked from this
small process instead, the command's figure is its own. Usage (see ``bench.measure``):

    python bench/launch.py PEAK_FILE COMMAND [ARG ...]
"""

import os
import sys


def main() -> int:
    """Fork, exec the command, wait, write its peak."""
    peak_file, argv = sys.argv[1], sys.argv[2:]
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    fd = os.open(peak_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, str(usage.ru_maxrss).encode())
    os.close(fd)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
