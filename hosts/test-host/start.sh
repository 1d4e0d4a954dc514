#!/bin/sh
# Wait for the test to stage the rendered files and run the setup script (it creates /staging/.ready),
# then run sssd in the background and sshd in the foreground.
set -eu
while [ ! -e /staging/.ready ]; do sleep 0.2; done
sssd --logger=stderr -D
exec /usr/sbin/sshd -D -e
